package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Backend;
import dev.tessera.core.Backend.BinaryOp;
import dev.tessera.core.Backend.ReduceOp;
import dev.tessera.core.Backend.UnaryOp;
import dev.tessera.core.Close;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Every Backend method on the GPU against the CPU reference, on random inputs. Runs only where a
 * CUDA device is usable (scripts/gpu-check.sh); everywhere else each test is skipped.
 */
class CudaOpsTest extends CudaAgainstCpu {
    private final Random random = new Random(42);

    // ---------------------------------------------------------------- helpers

    private Tensor randn(int... shape) {
        return randn(random, shape);
    }

    private Tensor uniform(float lo, float hi, int... shape) {
        Tensor t = randn(shape);
        float[] x = t.toFloatArray();
        for (int i = 0; i < x.length; i++) {
            x[i] = lo + (hi - lo) * random.nextFloat();
        }
        return Tensor.of(x, shape);
    }

    private Tensor ids(int bound, int count) {
        long[] v = new long[count];
        for (int i = 0; i < count; i++) {
            v[i] = random.nextInt(bound);
        }
        return Tensor.ofLongs(v, count);
    }

    private static Tensor gpuCopy(Tensor t) {
        return t == null ? null : t.to(CUDA);
    }

    private static Tensor emptyLike(Tensor t, Device d) {
        return Tensor.empty(t.dtype(), d, t.shape());
    }

    /** Raw bytes of a tensor, copied to the CPU. */
    private static byte[] bytes(Tensor t) {
        Tensor c = t.to(Device.CPU).contiguous();
        return c.dataSegment().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
    }

    @FunctionalInterface
    interface Op {
        void run(Backend backend, Tensor[] t);
    }

    /**
     * Runs {@code op} on {@code tensors} with the CPU backend and on their GPU copies with the CUDA
     * backend, then compares the tensors at {@code outputs}.
     */
    private static void check(String what, double atol, double rtol, Tensor[] tensors, int[] outputs, Op op) {
        Tensor[] onGpu = new Tensor[tensors.length];
        for (int i = 0; i < tensors.length; i++) {
            onGpu[i] = gpuCopy(tensors[i]);
        }
        op.run(cpu, tensors);
        op.run(gpu, onGpu);
        gpu.synchronize();
        for (int o : outputs) {
            Close.assertClose(tensors[o].toFloatArray(), onGpu[o].toFloatArray(), atol, rtol, what + " output " + o);
        }
    }

    // ---------------------------------------------------------------- copies, casts, fill

    @Test
    void everyDtypeSurvivesARoundTrip() {
        Tensor src = randn(3, 5).mul(40f);
        for (DType t : DType.values()) {
            Tensor host = src.cast(t);
            assertArrayEquals(bytes(host), bytes(host.to(CUDA).to(Device.CPU)), t.name());
        }
    }

    /** Casts agree bit for bit, except that a NaN's payload may differ (PTX conversions make NaNs canonical). */
    @Test
    void castsOnTheDeviceMatchTheCpu() {
        float[] special = {0f, -0f, 1.5f, -2.5f, 255.7f, 300f, -129f, 1e10f, -1e10f, Float.NaN, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, 65520f, 1e-8f, 3.3f, -7.9f};
        Tensor base = Tensor.of(special, 4, 4);
        for (DType from : DType.values()) {
            Tensor src = base.cast(from);
            for (DType to : DType.values()) {
                Tensor expected = Tensor.empty(to, 4, 4);
                cpu.copy(src, expected);
                Tensor actual = Tensor.empty(to, CUDA, 4, 4);
                gpu.copy(src.to(CUDA), actual);
                if (to.isFloating()) {
                    Close.assertClose(expected.toFloatArray(), actual.toFloatArray(), 0, 0, from + " -> " + to);
                } else {
                    assertArrayEquals(bytes(expected), bytes(actual), from + " -> " + to);
                }
            }
        }
    }

    @Test
    void stridedViewsCopyAcrossAndWithinTheDevice() {
        Tensor x = randn(4, 6, 5);
        Tensor[] views = {x.transpose(0, 2), x.narrow(1, 2, 3), x.narrow(2, 1, 3).transpose(1, 2),
                randn(1, 6, 1).expand(4, 6, 5)};
        for (Tensor v : views) {
            // CPU view -> device, device view -> device, device -> CPU view
            Tensor up = Tensor.empty(DType.F32, CUDA, v.shape());
            gpu.copy(v, up);
            Close.assertClose(v.toFloatArray(), up.toFloatArray(), 0, 0, "upload of a view");
            Tensor deviceView = Tensor.empty(DType.F32, CUDA, x.shape());
            gpu.copy(x, deviceView);
            Tensor within = Tensor.empty(DType.F32, CUDA, x.transpose(0, 2).shape());
            gpu.copy(deviceView.transpose(0, 2), within);
            Close.assertClose(x.transpose(0, 2).toFloatArray(), within.toFloatArray(), 0, 0, "device transpose");
            Tensor hostDst = Tensor.zeros(6, 4).t();   // a non-contiguous CPU destination [4, 6]
            gpu.copy(randn(4, 6).to(CUDA), hostDst);
            assertEquals(24, hostDst.toFloatArray().length);
        }
        Tensor deviceDst = Tensor.zeros(DType.F32, CUDA, 6, 4).t();   // a non-contiguous device destination
        Tensor src = randn(4, 6);
        gpu.copy(src, deviceDst);
        Close.assertClose(src.toFloatArray(), deviceDst.toFloatArray(), 0, 0, "upload into a device view");
    }

    @Test
    void fillWritesTheCpuBitsForEveryDtype() {
        for (DType t : DType.values()) {
            for (double v : new double[] {0, -0.0, 1, -3.25, 300.5, 1e10, Double.NaN}) {
                Tensor expected = Tensor.empty(t, 7);
                cpu.fill(expected, v);
                Tensor actual = Tensor.empty(t, CUDA, 7);
                gpu.fill(actual, v);
                assertArrayEquals(bytes(expected), bytes(actual), t + " " + v);
            }
        }
    }

    // ---------------------------------------------------------------- elementwise

    @Test
    void everyUnaryOpAndItsDerivative() {
        for (UnaryOp op : UnaryOp.values()) {
            boolean positive = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT || op == UnaryOp.POW_SCALAR;
            Tensor x = positive ? uniform(0.1f, 4f, 1000) : randn(1000).mul(3f);
            float p1 = switch (op) {
                case POW_SCALAR -> 1.7f;
                case CLAMP -> -0.5f;
                case ADD_SCALAR, MUL_SCALAR -> 2.5f;
                default -> 0f;
            };
            float p2 = op == UnaryOp.CLAMP ? 0.75f : 0f;
            Tensor dy = randn(1000);
            check(op + " forward", 1e-5, 1e-5, new Tensor[] {x, Tensor.zeros(1000)}, new int[] {1},
                    (b, t) -> b.unary(op, t[0], t[1], p1, p2));
            check(op + " backward", 1e-5, 1e-4, new Tensor[] {x, dy, Tensor.zeros(1000)}, new int[] {2},
                    (b, t) -> b.unaryBackward(op, t[0], t[1], t[2], p1, p2));
        }
    }

    @Test
    void everyBinaryOpWithBroadcasting() {
        int[] outShape = {3, 4, 5};
        Tensor a = randn(3, 1, 5).mul(2f).expand(outShape), b = uniform(0.5f, 2f, 4, 5).expand(outShape);
        // small integers, so the comparisons meet ties
        float[] av = new float[60], bv = new float[60];
        for (int i = 0; i < 60; i++) {
            av[i] = random.nextInt(3);
            bv[i] = random.nextInt(3);
        }
        for (BinaryOp op : BinaryOp.values()) {
            boolean compare = op.ordinal() >= BinaryOp.EQ.ordinal();
            Tensor out = Tensor.zeros(compare ? DType.BOOL : DType.F32, Device.CPU, outShape);
            Tensor left = compare ? Tensor.of(av, outShape) : a.contiguous();
            Tensor right = compare ? Tensor.of(bv, outShape) : b.contiguous();
            check(op.name(), 1e-5, 1e-5, new Tensor[] {left, right, out}, new int[] {2},
                    (be, t) -> be.binary(op, t[0], t[1], t[2]));
        }
        Tensor la = Tensor.ofLongs(new long[] {1, 5, -3, 7}, 4), lb = Tensor.ofLongs(new long[] {1, 4, -3, 9}, 4);
        for (BinaryOp op : new BinaryOp[] {BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.GE}) {
            check(op + " on I64", 0, 0, new Tensor[] {la, lb, Tensor.zeros(DType.BOOL, Device.CPU, 4)}, new int[] {2},
                    (be, t) -> be.binary(op, t[0], t[1], t[2]));
        }
    }

    @Test
    void broadcastOperandsKeepTheirZeroStridesOnTheDevice() {
        Tensor row = randn(1, 5), col = randn(4, 1);
        Tensor expected = Tensor.zeros(4, 5);
        cpu.binary(BinaryOp.ADD, row.expand(4, 5), col.expand(4, 5), expected);
        Tensor actual = Tensor.zeros(DType.F32, CUDA, 4, 5);
        gpu.binary(BinaryOp.ADD, row.to(CUDA).expand(4, 5), col.to(CUDA).expand(4, 5), actual);
        Close.assertClose(expected.toFloatArray(), actual.toFloatArray(), 1e-6, 0, "broadcast add");
        Tensor cond = randn(4, 5).gt(0);
        Tensor w = Tensor.zeros(4, 5);
        cpu.where(cond, row.expand(4, 5), col.expand(4, 5), w);
        Tensor wg = Tensor.zeros(DType.F32, CUDA, 4, 5);
        gpu.where(cond.to(CUDA), row.to(CUDA).expand(4, 5), col.to(CUDA).expand(4, 5), wg);
        Close.assertClose(w.toFloatArray(), wg.toFloatArray(), 0, 0, "where");
    }

    // ---------------------------------------------------------------- reductions and GEMM

    @Test
    void everyReductionOverRowsAndColumns() {
        for (ReduceOp op : ReduceOp.values()) {
            DType outType = op == ReduceOp.ARGMAX ? DType.I64 : DType.F32;
            for (int[] oni : new int[][] {{7, 1000, 1}, {3, 50, 17}, {1, 5000, 1}, {2, 1, 9}}) {
                int outer = oni[0], n = oni[1], inner = oni[2];
                Tensor x = randn(outer, n, inner);
                check(op + " " + java.util.Arrays.toString(oni), 1e-4, 1e-4,
                        new Tensor[] {x, Tensor.zeros(outType, Device.CPU, outer, inner)}, new int[] {1},
                        (b, t) -> b.reduce(op, t[0], outer, n, inner, t[1]));
            }
        }
        float[] withNan = randn(2, 40).toFloatArray();
        withNan[13] = Float.NaN;
        withNan[40 + 3] = Float.NaN;
        withNan[40 + 30] = Float.NaN;
        for (ReduceOp op : ReduceOp.values()) {
            DType outType = op == ReduceOp.ARGMAX ? DType.I64 : DType.F32;
            check(op + " with NaN", 0, 0, new Tensor[] {Tensor.of(withNan, 2, 40), Tensor.zeros(outType, Device.CPU, 2)},
                    new int[] {1}, (b, t) -> b.reduce(op, t[0], 2, 40, 1, t[1]));
        }
    }

    @Test
    void gemmInEveryLayoutMatchesTheCpu() {
        int m = 33, n = 47, k = 29;
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (int batch : new int[] {1, 3}) {
                    Tensor a = randn(batch, ta ? k : m, ta ? m : k), b = randn(batch, tb ? n : k, tb ? k : n);
                    Tensor c = randn(batch, m, n);
                    long lda = ta ? m : k, ldb = tb ? k : n;
                    long sa = (long) m * k, sb = batch == 3 ? 0 : (long) n * k;   // B broadcast over the batch
                    float beta = batch == 3 ? 0.5f : 0f;
                    check("gemm ta=" + ta + " tb=" + tb + " batch=" + batch, 1e-4, 1e-4, new Tensor[] {a, b, c}, new int[] {2},
                            (be, t) -> be.gemm(ta, tb, batch, m, n, k, t[0], lda, sa, t[1], ldb, sb, beta, t[2], n, (long) m * n));
                }
            }
        }
    }

    @Test
    void matmulThroughTheTensorApiMatchesTheCpuIncludingGradients() {
        Tensor x = randn(8, 16), w = randn(16, 12), v = randn(2, 12, 5);
        float[][] cpuGrads = grads(x, w, v);
        float[][] gpuGrads = grads(x.to(CUDA), w.to(CUDA), v.to(CUDA));
        for (int i = 0; i < cpuGrads.length; i++) {
            Close.assertClose(cpuGrads[i], gpuGrads[i], 1e-4, 1e-3, "grad " + i);
        }
    }

    private static float[][] grads(Tensor x, Tensor w, Tensor v) {
        Tensor xl = x.detach().requiresGrad(true), wl = w.detach().requiresGrad(true), vl = v.detach().requiresGrad(true);
        Tensor h = xl.matmul(wl).gelu().layerNorm(null, null, 1e-5f);   // [8, 12]
        Tensor y = h.reshape(2, 4, 12).matmul(vl).softmax(-1);          // batched [2, 4, 5]
        Tensor loss = y.mul(y).sum();
        loss.backward();
        return new float[][] {loss.toFloatArray(), xl.grad().toFloatArray(), wl.grad().toFloatArray(), vl.grad().toFloatArray()};
    }

    // ---------------------------------------------------------------- row kernels

    @Test
    void softmaxAndLogSoftmaxWithGradients() {
        for (int n : new int[] {1, 5, 300, 50257}) {
            int rows = n > 1000 ? 4 : 9;
            for (boolean log : new boolean[] {false, true}) {
                Tensor x = randn(rows, n).mul(4f), dy = randn(rows, n);
                Tensor y = Tensor.zeros(rows, n);
                cpu.softmax(x, y, rows, n, log);
                check("softmax n=" + n + " log=" + log, 1e-6, 1e-4, new Tensor[] {x, Tensor.zeros(rows, n)}, new int[] {1},
                        (b, t) -> b.softmax(t[0], t[1], rows, n, log));
                check("softmax backward n=" + n + " log=" + log, 1e-5, 1e-4, new Tensor[] {y, dy, Tensor.zeros(rows, n)},
                        new int[] {2}, (b, t) -> b.softmaxBackward(t[0], t[1], t[2], rows, n, log));
            }
        }
        float[] masked = new float[8];
        java.util.Arrays.fill(masked, Float.NEGATIVE_INFINITY);
        check("fully masked row", 0, 0, new Tensor[] {Tensor.of(masked, 1, 8), Tensor.zeros(1, 8)}, new int[] {1},
                (b, t) -> b.softmax(t[0], t[1], 1, 8, false));
    }

    @Test
    void layerNormAndRmsNormWithEveryOptionalOperand() {
        int rows = 37, n = 768;
        Tensor x = randn(rows, n).mul(2f).add(0.5f), w = randn(n), bias = randn(n), dy = randn(rows, n);
        for (boolean withW : new boolean[] {true, false}) {
            for (boolean withB : new boolean[] {true, false}) {
                Tensor ww = withW ? w : null, bb = withB ? bias : null;
                Tensor[] t0 = {x, ww, bb, Tensor.zeros(rows, n), Tensor.zeros(rows), Tensor.zeros(rows)};
                check("layerNorm w=" + withW + " b=" + withB, 1e-5, 1e-4, t0, new int[] {3, 4, 5},
                        (be, t) -> be.layerNorm(t[0], t[1], t[2], 1e-5f, t[3], t[4], t[5], rows, n));
                Tensor mean = t0[4], rstd = t0[5];
                Tensor[] t1 = {x, ww, mean, rstd, dy, Tensor.zeros(rows, n), withW ? Tensor.zeros(n) : null,
                        withB ? Tensor.zeros(n) : null};
                int[] outs = withW && withB ? new int[] {5, 6, 7} : withW ? new int[] {5, 6} : withB ? new int[] {5, 7} : new int[] {5};
                check("layerNormBackward w=" + withW + " b=" + withB, 1e-4, 1e-3, t1, outs,
                        (be, t) -> be.layerNormBackward(t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], rows, n));
            }
            Tensor ww = withW ? w : null;
            Tensor[] r0 = {x, ww, Tensor.zeros(rows, n), Tensor.zeros(rows)};
            check("rmsNorm w=" + withW, 1e-5, 1e-4, r0, new int[] {2, 3},
                    (be, t) -> be.rmsNorm(t[0], t[1], 1e-6f, t[2], t[3], rows, n));
            Tensor[] r1 = {x, ww, r0[3], dy, Tensor.zeros(rows, n), withW ? Tensor.zeros(n) : null};
            check("rmsNormBackward w=" + withW, 1e-4, 1e-3, r1, withW ? new int[] {4, 5} : new int[] {4},
                    (be, t) -> be.rmsNormBackward(t[0], t[1], t[2], t[3], t[4], t[5], rows, n));
        }
    }

    @Test
    void crossEntropyWithIgnoredTargets() {
        int rows = 12, n = 50257;
        Tensor logits = randn(rows, n).mul(3f);
        long[] tv = ids(n, rows).toLongArray();
        tv[3] = -100;
        tv[7] = -100;
        Tensor targets = Tensor.ofLongs(tv, rows);
        Tensor[] t0 = {logits, targets, Tensor.zeros(rows), Tensor.zeros(rows)};
        check("crossEntropy", 1e-4, 1e-5, t0, new int[] {2, 3},
                (b, t) -> b.crossEntropy(t[0], t[1], -100, t[2], t[3], rows, n));
        Tensor[] t1 = {logits, targets, t0[3], Tensor.zeros(rows, n)};
        check("crossEntropyBackward", 1e-7, 1e-4, t1, new int[] {3},
                (b, t) -> b.crossEntropyBackward(t[0], t[1], t[2], -100, 1f / 10, t[3], rows, n));
    }

    // ---------------------------------------------------------------- indexing

    @Test
    void embeddingAndIndexSelectWithTheirBackwards() {
        int vocab = 100, dim = 64, count = 300;
        Tensor weight = randn(vocab, dim), ids = ids(vocab, count), dout = randn(count, dim);
        check("embedding", 0, 0, new Tensor[] {weight, ids, Tensor.zeros(count, dim)}, new int[] {2},
                (b, t) -> b.embedding(t[0], t[1], t[2], count, dim));
        check("embeddingBackward (repeated ids)", 1e-4, 1e-4, new Tensor[] {dout, ids, randn(vocab, dim)}, new int[] {2},
                (b, t) -> b.embeddingBackward(t[0], t[1], t[2], count, dim));
        int outer = 3, n = 10, inner = 7, k = 25;
        Tensor x = randn(outer, n, inner), index = ids(n, k), g = randn(outer, k, inner);
        check("indexSelect", 0, 0, new Tensor[] {x, index, Tensor.zeros(outer, k, inner)}, new int[] {2},
                (b, t) -> b.indexSelect(t[0], t[1], t[2], outer, n, inner, k));
        check("indexAdd", 1e-5, 1e-5, new Tensor[] {g, index, randn(outer, n, inner)}, new int[] {2},
                (b, t) -> b.indexAdd(t[0], t[1], t[2], outer, n, inner, k));
    }

    @Test
    void anOutOfRangeIdFailsAtTheNextSynchronisationWithoutTouchingMemory() {
        Tensor weight = randn(10, 4).to(CUDA), out = Tensor.zeros(DType.F32, CUDA, 2, 4);
        gpu.embedding(weight, Tensor.ofLongs(new long[] {3, 10}, 2).to(CUDA), out, 2, 4);
        TesseraException e = assertThrows(TesseraException.class, gpu::synchronize);
        TesseraException onCpu = assertThrows(TesseraException.class,
                () -> cpu.embedding(randn(10, 4), Tensor.ofLongs(new long[] {3, 10}, 2), Tensor.zeros(2, 4), 2, 4));
        assertEquals(onCpu.getMessage(), e.getMessage());
        assertEquals("embedding: token id 10 out of range for a vocabulary of 10", e.getMessage());
        gpu.synchronize();   // reported once, then cleared
        float[] rows = out.toFloatArray();
        assertEquals(0f, rows[4]);
    }

    @Test
    void outOfRangeTargetsAndIndicesReadAsTheCpusErrors() {
        Tensor logits = randn(3, 5);
        Tensor targets = Tensor.ofLongs(new long[] {1, -100, 7}, 3);
        TesseraException onCpu = assertThrows(TesseraException.class, () -> cpu.crossEntropy(logits, targets, -100,
                Tensor.zeros(3), Tensor.zeros(3), 3, 5));
        gpu.crossEntropy(logits.to(CUDA), targets.to(CUDA), -100, Tensor.zeros(DType.F32, CUDA, 3),
                Tensor.zeros(DType.F32, CUDA, 3), 3, 5);
        assertEquals(onCpu.getMessage(), assertThrows(TesseraException.class, gpu::synchronize).getMessage());
        Tensor x = randn(2, 4, 3), index = Tensor.ofLongs(new long[] {0, -1}, 2);
        onCpu = assertThrows(TesseraException.class, () -> cpu.indexSelect(x, index, Tensor.zeros(2, 2, 3), 2, 4, 3, 2));
        gpu.indexSelect(x.to(CUDA), index.to(CUDA), Tensor.zeros(DType.F32, CUDA, 2, 2, 3), 2, 4, 3, 2);
        assertEquals(onCpu.getMessage(), assertThrows(TesseraException.class, gpu::synchronize).getMessage());
    }

    @Test
    void aFrozenBf16OrF16TableIsLookedUpWidenedOnTheDevice() {
        int vocab = 40, dim = 24, count = 30;
        Tensor ids = ids(vocab, count);
        for (DType table : new DType[] {DType.BF16, DType.F16}) {
            Tensor weight = randn(vocab, dim).cast(table);
            Tensor expected = Tensor.zeros(count, dim);
            cpu.embedding(weight, ids, expected, count, dim);
            Tensor actual = Tensor.zeros(DType.F32, CUDA, count, dim);
            gpu.embedding(weight.to(CUDA), ids.to(CUDA), actual, count, dim);
            assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), table.toString());
        }
    }

    // ---------------------------------------------------------------- optimizer, 4-bit

    @Test
    void adamwMatchesTheCpuOverSeveralSteps() {
        int n = 10_000;
        Tensor p = randn(n), m = Tensor.zeros(n), v = Tensor.zeros(n);
        Tensor pg = p.to(CUDA), mg = m.to(CUDA), vg = v.to(CUDA);
        for (int step = 1; step <= 5; step++) {
            Tensor g = randn(n);
            cpu.adamw(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.01, step);
            gpu.adamw(pg, g.to(CUDA), mg, vg, 1e-3, 0.9, 0.999, 1e-8, 0.01, step);
        }
        Close.assertClose(p.toFloatArray(), pg.toFloatArray(), 1e-6, 1e-5, "param");
        Close.assertClose(m.toFloatArray(), mg.toFloatArray(), 1e-6, 1e-5, "m");
        Close.assertClose(v.toFloatArray(), vg.toFloatArray(), 1e-8, 1e-5, "v");
    }

    private static final float[] NF4 = {-1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
            -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f, 0.07958029955625534f,
            0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f,
            0.5626170039176941f, 0.7229568362236023f, 1.0f};

    @Test
    void fourBitDequantizationFollowsTheBitsandbytesLayout() {
        int n = 1001, block = 64, blocks = (n + block - 1) / block;
        byte[] packed = new byte[(n + 1) / 2];
        random.nextBytes(packed);
        float[] absmax = uniform(0.1f, 3f, blocks).toFloatArray();
        absmax[2] = 0f;   // a zero block decodes to zeros
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            int b = packed[i / 2] & 0xFF;
            int q = i % 2 == 0 ? b >> 4 : b & 0x0F;
            expected[i] = NF4[q] * absmax[i / block];
        }
        Tensor packedT = Tensor.fromBytes(DType.U8, new int[] {packed.length}, MemorySegment.ofArray(packed)).to(CUDA);
        Tensor out = Tensor.zeros(DType.F32, CUDA, n);
        gpu.dequantize4bit(Packed4Bit.plain(packedT, Tensor.of(NF4, 16).to(CUDA), block, Tensor.of(absmax, blocks).to(CUDA),
                1, n), DType.F32, out);
        Close.assertClose(expected, out.toFloatArray(), 0, 0, "NF4");
    }

    // ---------------------------------------------------------------- memory

    @Test
    void memoryReturnsToItsLevelAfterAScopeAndIsReused() {
        long before = gpu.liveBytes();
        for (int i = 0; i < 3; i++) {
            try (var s = Scope.open()) {
                Tensor a = randn(256, 256).to(CUDA);
                a.matmul(a).sum().item();
            }
            assertEquals(before, gpu.liveBytes(), "after iteration " + i);
        }
        MemoryInfo info = gpu.memoryInfo();
        assertTrue(info.freeBytes() > 0 && info.freeBytes() <= info.totalBytes(), info.toString());
    }
}
