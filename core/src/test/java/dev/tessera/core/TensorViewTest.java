package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import org.junit.jupiter.api.Test;

class TensorViewTest {
    private static float[] iota(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return a;
    }

    @Test
    void viewsShareStorageWithoutCopying() {
        Tensor x = Tensor.of(iota(24), 2, 3, 4);
        assertSame(x.storage(), x.reshape(6, 4).storage());
        assertSame(x.storage(), x.transpose(0, 2).storage());
        assertSame(x.storage(), x.permute(2, 0, 1).storage());
        assertSame(x.storage(), x.narrow(1, 1, 2).storage());
        assertSame(x.storage(), x.narrow(0, 1, 1).expand(5, 3, 4).storage());
        assertSame(x.storage(), x.unsqueeze(1).squeeze(1).storage());
    }

    @Test
    void transposeThenContiguousMatchesRowMajorTranspose() {
        Tensor x = Tensor.of(iota(6), 2, 3);
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, x.t().contiguous().toFloatArray());
        assertArrayEquals(new int[] {3, 2}, x.t().shape());
    }

    @Test
    void narrowSelectsTheRange() {
        Tensor x = Tensor.of(iota(12), 3, 4);
        assertArrayEquals(new float[] {5, 6, 9, 10}, x.narrow(0, 1, 2).narrow(1, 1, 2).toFloatArray());
    }

    @Test
    void expandRepeatsAlongBroadcastDims() {
        Tensor x = Tensor.of(new float[] {1, 2}, 2, 1);
        assertArrayEquals(new float[] {1, 1, 1, 2, 2, 2}, x.expand(2, 3).toFloatArray());
        assertEquals(0, x.expand(2, 3).strides()[1]);
    }

    @Test
    void reshapeOfNonViewableLayoutCopies() {
        Tensor x = Tensor.of(iota(6), 2, 3).t();
        Tensor r = x.reshape(6);
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, r.toFloatArray());
    }

    @Test
    void reshapeErrorNamesBothShapes() {
        var e = assertThrows(TesseraException.class, () -> Tensor.zeros(2, 3).reshape(4, 2));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 2]"), e.getMessage());
    }

    @Test
    void permutedViewsEqualTheirContiguousCopies() {
        qt().withExamples(60).forAll(integers().between(1, 5), integers().between(1, 5), integers().between(1, 5),
                integers().between(0, 5)).checkAssert((a, b, c, perm) -> {
                    int[][] perms = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
                    int[] p = perms[perm];
                    Tensor x = new Rng(a * 100 + b * 10 + c).randn(a, b, c);
                    Tensor v = x.permute(p);
                    float[] xs = x.toFloatArray();
                    float[] vs = v.contiguous().toFloatArray();
                    int[] vshape = v.shape();
                    int[] dims = {a, b, c};
                    int[] idx = new int[3];
                    int k = 0;
                    for (idx[0] = 0; idx[0] < vshape[0]; idx[0]++) {
                        for (idx[1] = 0; idx[1] < vshape[1]; idx[1]++) {
                            for (idx[2] = 0; idx[2] < vshape[2]; idx[2]++) {
                                int[] src = new int[3];
                                for (int d = 0; d < 3; d++) {
                                    src[p[d]] = idx[d];
                                }
                                float expected = xs[(src[0] * dims[1] + src[1]) * dims[2] + src[2]];
                                assertEquals(expected, vs[k++]);
                            }
                        }
                    }
                    // ops on the view equal ops on its copy
                    assertArrayEquals(v.contiguous().exp().toFloatArray(), v.exp().toFloatArray());
                    assertArrayEquals(v.contiguous().reshape(-1).toFloatArray(), v.reshape(-1).toFloatArray());
                });
    }

    @Test
    void castsRoundToNearestEven() {
        // 1 + 2^-8 is exactly halfway between two BF16 values: ties go to the even one (1.0)
        float halfway = 1f + 0x1p-8f;
        assertEquals(1f, DType.bf16ToFloat(DType.floatToBf16(halfway)));
        float above = 1f + 0x1p-8f + 0x1p-20f;
        assertEquals(1f + 0x1p-7f, DType.bf16ToFloat(DType.floatToBf16(above)));
        Tensor t = Tensor.of(new float[] {halfway, above, 3.14159f}, 3);
        float[] back = t.cast(DType.BF16).cast(DType.F32).toFloatArray();
        assertArrayEquals(new float[] {1f, 1f + 0x1p-7f, 3.140625f}, back);
        float[] f16 = t.cast(DType.F16).cast(DType.F32).toFloatArray();
        assertEquals(3.140625f, f16[2]);
    }

    @Test
    void integerCastsTruncateTowardZero() {
        Tensor t = Tensor.of(new float[] {-1.7f, 2.9f}, 2);
        assertArrayEquals(new long[] {-1, 2}, t.cast(DType.I64).toLongArray());
    }

    @Test
    void sameSeedGivesSameNumbers() {
        assertArrayEquals(new Rng(7).randn(100).toFloatArray(), new Rng(7).randn(100).toFloatArray());
        float[] k = new Rng(3).kaimingUniform(16, 64).toFloatArray();
        for (float v : k) {
            assertTrue(Math.abs(v) <= 1 / 8f);
        }
    }
}
