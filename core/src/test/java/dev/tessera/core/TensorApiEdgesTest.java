package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * Public entry points of core that only the other modules' tests reached: text of a tensor,
 * comparisons, sums over several dims, wrapping bytes, the F32-only checks of the ops, in-place
 * updates of leaves, device parsing and lookup, dropout's probability bounds.
 */
class TensorApiEdgesTest {

    @Test
    void toStringShowsTheDataOfSmallLiveTensorsOnly() {
        float[] sixteen = new float[16];
        sixteen[3] = 2.5f;
        assertEquals("Tensor[4, 4] F32 " + java.util.Arrays.toString(sixteen), Tensor.of(sixteen, 4, 4).toString());
        assertEquals("Tensor[17] F32", Tensor.zeros(17).toString());
        Tensor released = Tensor.of(new float[] {1, 2}, 2);
        released.release();
        assertEquals("Tensor[2] F32", released.toString());
        assertEquals("Tensor[] F32 [2.5]", Tensor.scalar(2.5).toString());
    }

    @Test
    void comparisonsAndMinimumWorkElementwise() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 4), b = Tensor.of(new float[] {4, 2, 1, 4}, 4);
        assertArrayEquals(new long[] {0, 1, 0, 1}, a.eq(b).toLongArray());
        assertArrayEquals(new long[] {1, 1, 0, 1}, a.le(b).toLongArray());
        assertArrayEquals(new long[] {1, 1, 0, 0}, a.le(2).toLongArray());
        assertArrayEquals(new float[] {1, 2, 1, 4}, a.minimum(b).toFloatArray());
        assertEquals(DType.BOOL, a.eq(b).dtype());
        assertArrayEquals(new long[] {0, 0, 1, 0}, a.eq(3).toLongArray());
    }

    @Test
    void viewsThatStartInsideTheirStorageReadFromTheirOffset() {
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5}, Tensor.arange(6).toLongArray());
        Tensor ids = Tensor.arange(6).narrow(0, 2, 3);
        assertArrayEquals(new long[] {2, 3, 4}, ids.toLongArray());
        Tensor f = Tensor.of(new float[] {0, 1, 2, 3, 4, 5}, 6).narrow(0, 3, 2);
        MemorySegment seg = f.dataSegment();
        assertEquals(8, seg.byteSize());
        assertEquals(3f, seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 0));
        assertEquals(4f, seg.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, 1));
    }

    @Test
    void sumOverSeveralDimsTakesThemInAnyOrder() {
        float[] v = new float[2 * 3 * 4];
        for (int i = 0; i < v.length; i++) {
            v[i] = i * i % 7;
        }
        Tensor x = Tensor.of(v, 2, 3, 4);
        float[] over02 = new float[3];
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 4; k++) {
                    over02[j] += v[(i * 3 + j) * 4 + k];
                }
            }
        }
        // unsorted and negative dims; summed from the last, so the indices stay valid
        assertArrayEquals(over02, x.sum(new int[] {-1, 0}, false).toFloatArray());
        assertArrayEquals(new int[] {3}, x.sum(new int[] {2, 0}, false).shape());
        Tensor kept = x.sum(new int[] {0, 2}, true);
        assertArrayEquals(new int[] {1, 3, 1}, kept.shape());
        assertArrayEquals(over02, kept.toFloatArray());
        assertEquals(java.util.stream.IntStream.range(0, v.length).mapToDouble(i -> v[i]).sum(), x.sum().item(), 1e-4);
    }

    @Test
    void bytesAreCopiedOrWrappedWhenTheirSizeFits() {
        MemorySegment bytes = MemorySegment.ofArray(new float[] {1, 2, 3});
        Tensor copy = Tensor.fromBytes(DType.F32, new int[] {3}, bytes);
        Tensor wrapped = Tensor.wrap(DType.F32, new int[] {3}, bytes);
        bytes.setAtIndex(ValueLayout.JAVA_FLOAT, 1, 9f);
        assertArrayEquals(new float[] {1, 2, 3}, copy.toFloatArray(), "a copy");
        assertArrayEquals(new float[] {1, 9, 3}, wrapped.toFloatArray(), "a view of the same memory");
        TesseraException e = assertThrows(TesseraException.class, () -> Tensor.fromBytes(DType.F32, new int[] {2}, bytes));
        assertTrue(e.getMessage().contains("expected 8 bytes"), e.getMessage());
        assertThrows(TesseraException.class, () -> Tensor.wrap(DType.BF16, new int[] {3}, bytes));
        assertThrows(TesseraException.class, () -> Tensor.of(new float[] {1, 2, 3}, 2, 2));
        assertThrows(TesseraException.class, () -> Tensor.ofLongs(new long[] {1, 2, 3}, 4));
    }

    @Test
    void gradientsAreForFloatingLeaves() {
        assertThrows(TesseraException.class, () -> Tensor.arange(3).requiresGrad(true));
        Tensor leaf = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        assertTrue(leaf.isLeaf());
        Tensor y = leaf.mul(3f);
        assertFalse(y.isLeaf());
        assertThrows(TesseraException.class, () -> y.requiresGrad(false));
        assertSame(y, y.requiresGrad(true));
        // backward from the leaf itself puts the gradient on it
        leaf.backward(Tensor.of(new float[] {0.5f, -1f}, 2));
        assertArrayEquals(new float[] {0.5f, -1f}, leaf.grad().toFloatArray());
        // moving to the device it is already on keeps the data and the gradient
        leaf.moveTo(Device.CPU);
        assertNotNull(leaf.grad());
        assertSame(leaf, leaf.to(Device.CPU));
    }

    @Test
    void opsThatComputeInF32RefuseIntegerTensors() {
        Tensor ints = Tensor.arange(4), f = Tensor.zeros(4), cond = f.eq(f);
        assertThrows(TesseraException.class, ints::exp);
        assertThrows(TesseraException.class, () -> ints.add(f));
        assertThrows(TesseraException.class, () -> f.add(ints));
        assertThrows(TesseraException.class, () -> Tensor.where(cond, ints, f));
        assertThrows(TesseraException.class, () -> Tensor.where(cond, f, ints));
        assertThrows(TesseraException.class, () -> ints.max(0, false));
        assertThrows(TesseraException.class, () -> ints.reshape(2, 2).matmul(Tensor.zeros(2, 2)));
    }

    @Test
    void leavesThatRequireGradChangeInPlaceOnlyWithoutGrad() {
        Tensor leaf = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        Tensor other = Tensor.of(new float[] {1, 1, 1}, 3);
        assertThrows(TesseraException.class, () -> leaf.copyFrom(other));
        assertThrows(TesseraException.class, () -> leaf.fill(0));
        assertThrows(TesseraException.class, () -> leaf.addInPlace(other, 1f));
        assertThrows(TesseraException.class, () -> leaf.mulInPlace(2f));
        try (var ng = Autograd.noGrad()) {
            assertSame(leaf, leaf.addInPlace(other, 2f));
            assertSame(leaf, leaf.mulInPlace(2f));
            assertArrayEquals(new float[] {6, 8, 10}, leaf.toFloatArray());
            assertSame(leaf, leaf.copyFrom(other));
            assertSame(leaf, leaf.fill(4));
        }
        assertArrayEquals(new float[] {4, 4, 4}, leaf.toFloatArray());
    }

    @Test
    void inPlaceUpdatesOfStridedTensorsGoThroughACopy() {
        Tensor base = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3), t = base.t();
        t.addInPlace(Tensor.ones(3, 2), 1f);
        t.mulInPlace(10f);
        assertArrayEquals(new float[] {20, 30, 40, 50, 60, 70}, base.toFloatArray());
        // 16-bit tensors are not updated in place: the update computes in F32
        Tensor bf16 = Tensor.of(new float[] {1, 2, 3}, 3).cast(DType.BF16);
        assertThrows(TesseraException.class, () -> bf16.addInPlace(Tensor.ones(3), 1f));
        assertThrows(TesseraException.class, () -> bf16.mulInPlace(2f));
    }

    @Test
    void devicesParseAndUnknownBackendsAreReported() {
        assertSame(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.cuda(0), Device.parse("cuda"));
        assertEquals(Device.cuda(3), Device.parse("cuda:3"));
        for (String bad : new String[] {"gpu", "cuda:", "cuda:x", "CPU"}) {
            TesseraException e = assertThrows(TesseraException.class, () -> Device.parse(bad));
            assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
        }
        assertSame(Backends.cpu(), Backends.of(Device.CPU));
        assertTrue(Backends.isAvailable(Device.CPU));
        // core's tests run without cuda-bindings on the class path
        assertFalse(Backends.isAvailable(Device.cuda(0)));
        TesseraException e = assertThrows(TesseraException.class, () -> Backends.of(Device.cuda(1)));
        assertTrue(e.getMessage().contains("no backend for device cuda:1"), e.getMessage());
        assertSame(((dev.tessera.core.cpu.CpuBackend) Backends.cpu()).allocator(), Backends.cpuAllocator());
    }

    @Test
    void theCpuThreadCountCanBeChangedAndRestored() {
        int before = Backends.cpuThreads();
        assertTrue(before >= 1);
        try {
            Backends.setCpuThreads(before + 1);
            assertEquals(before + 1, Backends.cpuThreads());
        } finally {
            Backends.setCpuThreads(before);
        }
        assertEquals(before, Backends.cpuThreads());
    }

    @Test
    void dropoutKeepsOrScalesAndRefusesBadProbabilities() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 8);
        Rng rng = new Rng(7);
        assertSame(x, x.dropout(0f, rng));
        assertArrayEquals(new float[8], x.dropout(1f, rng).toFloatArray());
        for (float p : new float[] {-0.1f, 1.5f}) {
            assertThrows(TesseraException.class, () -> x.dropout(p, rng));
        }
        float[] half = x.dropout(0.5f, rng).toFloatArray();
        for (int i = 0; i < 8; i++) {
            assertTrue(half[i] == 0f || half[i] == 2 * (i + 1), "element " + i + ": " + half[i]);
        }
    }

    @Test
    void onlyRankZeroIsMain() {
        assertTrue(Collective.singleProcess().isMain());
        Collective rankOne = new Collective() {
            @Override public int rank() { return 1; }
            @Override public int worldSize() { return 2; }
            @Override public void allReduceSum(Tensor f32) {}
            @Override public void allReduceSum(double[] values) {}
            @Override public void broadcast(Tensor f32, int root) {}
            @Override public void barrier() {}
            @Override public void abort(String reason, int exitCode) {}
            @Override public void close() {}
        };
        assertFalse(rankOne.isMain());
    }

    @Test
    void theAllocatorCountsHitsAndMisses() {
        CachingAllocator allocator = new CachingAllocator();
        MemorySegment a = allocator.allocate(100);
        assertEquals(0, allocator.hits());
        assertEquals(1, allocator.misses());
        allocator.free(a);
        allocator.free(allocator.allocate(120)); // the same 128-byte class: served from the free list
        allocator.free(allocator.allocate(5000));
        assertEquals(1, allocator.hits());
        assertEquals(2, allocator.misses());
    }
}
