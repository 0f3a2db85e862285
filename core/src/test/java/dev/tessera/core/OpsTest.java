package dev.tessera.core;

import static dev.tessera.core.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.tessera.core.cpu.ReferenceGemm;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

class OpsTest {
    /** Broadcast index of `out` coordinates into a tensor of `shape` (row-major). */
    private static int bIndex(int[] outShape, int flat, int[] shape) {
        int idx = 0, stride = 1;
        for (int d = outShape.length - 1, s = shape.length - 1; d >= 0; d--, s--) {
            int c = flat % outShape[d];
            flat /= outShape[d];
            if (s >= 0) {
                idx += (shape[s] == 1 ? 0 : c) * stride;
                stride *= shape[s];
            }
        }
        return idx;
    }

    @Test
    void binaryOpsBroadcastLikeNumpy() {
        qt().withExamples(80).forAll(integers().between(0, 1 << 12), integers().between(0, 3))
                .checkAssert((bits, opIndex) -> {
                    // random rank-3 shapes where each dim of a and b is either n or 1, b maybe lower rank
                    int[] full = {1 + (bits & 3), 1 + ((bits >> 2) & 3), 1 + ((bits >> 4) & 7)};
                    int[] a = new int[3];
                    int[] b = new int[3 - ((bits >> 10) & 1)];
                    for (int d = 0; d < 3; d++) {
                        a[d] = ((bits >> (6 + d)) & 1) == 1 ? 1 : full[d];
                    }
                    for (int d = 0; d < b.length; d++) {
                        int fd = d + 3 - b.length;
                        b[d] = ((bits >> (9 + d)) & 1) == 1 && a[fd] != 1 ? 1 : full[fd];
                    }
                    Rng rng = new Rng(bits);
                    Tensor ta = rng.randn(a), tb = rng.uniform(0.5f, 2f, b);
                    Tensor out = switch (opIndex) {
                        case 0 -> ta.add(tb);
                        case 1 -> ta.sub(tb);
                        case 2 -> ta.mul(tb);
                        default -> ta.div(tb);
                    };
                    int[] os = Shapes.broadcast(a, b);
                    assertArrayEquals(os, out.shape());
                    float[] av = ta.toFloatArray(), bv = tb.toFloatArray(), ov = out.toFloatArray();
                    for (int i = 0; i < ov.length; i++) {
                        float x = av[bIndex(os, i, a)], y = bv[bIndex(os, i, b)];
                        float e = switch (opIndex) {
                            case 0 -> x + y;
                            case 1 -> x - y;
                            case 2 -> x * y;
                            default -> x / y;
                        };
                        assertEquals(e, ov[i], 0f);
                    }
                });
    }

    @Test
    void incompatibleShapesAreAnErrorNamingBoth() {
        var e = assertThrows(TesseraException.class, () -> Tensor.zeros(2, 3).add(Tensor.zeros(4)));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4]"), e.getMessage());
    }

    /** Naive matmul of row-major [m,k]·[k,n] in double. */
    private static float[] naive(float[] a, float[] b, int m, int n, int k) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    s += (double) a[i * k + p] * b[p * n + j];
                }
                c[i * n + j] = (float) s;
            }
        }
        return c;
    }

    @Test
    void matmulOfStridedViewsMatchesNaiveReference() {
        qt().withExamples(60).forAll(integers().between(1, 40), integers().between(1, 40), integers().between(1, 40),
                integers().between(0, 3)).checkAssert((m, n, k, trans) -> {
                    Rng rng = new Rng(m * 10007L + n * 101 + k + trans);
                    boolean ta = (trans & 1) != 0, tb = (trans & 2) != 0;
                    // operands as transposed views when requested: no copies, strides tell GEMM
                    Tensor a = ta ? rng.randn(k, m).t() : rng.randn(m, k);
                    Tensor b = tb ? rng.randn(n, k).t() : rng.randn(k, n);
                    float[] expected = naive(a.contiguous().toFloatArray(), b.contiguous().toFloatArray(), m, n, k);
                    assertClose(expected, a.matmul(b).toFloatArray(), 1e-4 * Math.sqrt(k), 1e-4, "matmul " + m + "x" + k + "x" + n);
                });
    }

    @Test
    void batchedMatmulBroadcastsBatchDims() {
        Rng rng = new Rng(5);
        Tensor a = rng.randn(3, 1, 4, 5);
        Tensor b = rng.randn(2, 5, 6);
        Tensor c = a.matmul(b);
        assertArrayEquals(new int[] {3, 2, 4, 6}, c.shape());
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 2; j++) {
                float[] expected = naive(a.narrow(0, i, 1).contiguous().toFloatArray(), b.narrow(0, j, 1).contiguous().toFloatArray(), 4, 6, 5);
                assertClose(expected, c.narrow(0, i, 1).narrow(1, j, 1).toFloatArray(), 1e-4, 1e-4, "batch " + i + "," + j);
            }
        }
    }

    @Test
    void referenceGemmAgreesWithNaiveLoop() {
        float[] a = {1, 2, 3, 4, 5, 6};
        float[] b = {7, 8, 9, 10, 11, 12};
        MemorySegment sa = MemorySegment.ofArray(a), sb = MemorySegment.ofArray(b), sc = MemorySegment.ofArray(new float[4]);
        ReferenceGemm.sgemm(false, false, 2, 2, 3, sa, 0, 3, sb, 0, 2, 0f, sc, 0, 2);
        assertArrayEquals(naive(a, b, 2, 2, 3), sc.toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT));
    }

    @Test
    void softmaxRowsSumToOne() {
        qt().withExamples(40).forAll(integers().between(1, 20), integers().between(1, 300)).checkAssert((rows, n) -> {
            Tensor x = new Rng(rows * 1000 + n).normal(0, 5, rows, n);
            float[] s = x.softmax(-1).sum(-1, false).toFloatArray();
            for (float v : s) {
                assertEquals(1f, v, 1e-5f);
            }
            float[] alongFirst = x.softmax(0).sum(0, false).toFloatArray();
            for (float v : alongFirst) {
                assertEquals(1f, v, 1e-5f);
            }
        });
    }

    @Test
    void crossEntropyEqualsNegativeLogSoftmaxAtTheLabel() {
        qt().withExamples(40).forAll(integers().between(1, 16), integers().between(2, 200)).checkAssert((rows, n) -> {
            Rng rng = new Rng(rows * 7919L + n);
            Tensor logits = rng.normal(0, 3, rows, n);
            long[] labels = new long[rows];
            for (int i = 0; i < rows; i++) {
                labels[i] = i % 3 == 2 ? -100 : Math.floorMod(rng.nextLong(), n);
            }
            float[] logp = logits.logSoftmax(-1).toFloatArray();
            double sum = 0;
            int count = 0;
            for (int i = 0; i < rows; i++) {
                if (labels[i] != -100) {
                    sum += -logp[i * n + (int) labels[i]];
                    count++;
                }
            }
            float loss = logits.crossEntropy(Tensor.ofLongs(labels, rows)).item();
            if (count == 0) {
                assertTrue(Float.isNaN(loss));
            } else {
                assertEquals(sum / count, loss, 1e-5 * Math.max(1, Math.abs(sum / count)));
            }
        });
    }

    @Test
    void layerNormMatchesTheDefinition() {
        Rng rng = new Rng(11);
        Tensor x = rng.normal(1, 2, 5, 7), w = rng.randn(7), b = rng.randn(7);
        float[] y = x.layerNorm(w, b, 1e-5f).toFloatArray();
        float[] xv = x.toFloatArray(), wv = w.toFloatArray(), bv = b.toFloatArray();
        float[] expected = new float[35];
        for (int r = 0; r < 5; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < 7; i++) {
                mean += xv[r * 7 + i];
            }
            mean /= 7;
            for (int i = 0; i < 7; i++) {
                var += Math.pow(xv[r * 7 + i] - mean, 2);
            }
            var /= 7;
            for (int i = 0; i < 7; i++) {
                expected[r * 7 + i] = (float) ((xv[r * 7 + i] - mean) / Math.sqrt(var + 1e-5) * wv[i] + bv[i]);
            }
        }
        assertClose(expected, y, 1e-5, 1e-5, "layer_norm");
    }

    @Test
    void reductionsKeepOrDropTheDimension() {
        Tensor x = Tensor.of(new float[] {1, 5, 3, 4, 2, 6}, 2, 3);
        assertArrayEquals(new float[] {9, 12}, x.sum(1, false).toFloatArray());
        assertArrayEquals(new int[] {2, 1}, x.sum(1, true).shape());
        assertArrayEquals(new float[] {4, 5, 6}, x.max(0, false).toFloatArray());
        assertArrayEquals(new long[] {1, 2}, x.argmax(1, false).toLongArray());
        assertEquals(21f, x.sum().item());
        assertEquals(3.5f, x.mean().item());
    }

    @Test
    void concatSplitStackAndGatherRoundTrip() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2), b = Tensor.of(new float[] {5, 6}, 1, 2);
        Tensor c = Tensor.cat(0, a, b);
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.toFloatArray());
        Tensor[] parts = c.split(0, 2, 1);
        assertArrayEquals(a.toFloatArray(), parts[0].toFloatArray());
        assertArrayEquals(new int[] {2, 2, 2}, Tensor.stack(0, a, a).shape());
        Tensor g = a.gather(1, Tensor.ofLongs(new long[] {1, 0, 0, 0}, 2, 2));
        assertArrayEquals(new float[] {2, 1, 3, 3}, g.toFloatArray());
        assertArrayEquals(new float[] {3, 4, 1, 2}, a.indexSelect(0, Tensor.ofLongs(new long[] {1, 0}, 2)).toFloatArray());
    }

    @Test
    void whereAndComparisonsSelectElementwise() {
        Tensor x = Tensor.of(new float[] {-1, 2, -3, 4}, 4);
        assertArrayEquals(new float[] {0, 2, 0, 4}, x.maskedFill(x.lt(0), 0).toFloatArray());
        assertArrayEquals(new float[] {-1, 2, -3, 4}, Tensor.where(x.ge(0), x, x).toFloatArray());
    }

    @Test
    void dropoutIsSeededAndInverted() {
        Tensor x = Tensor.ones(1000);
        float[] a = x.dropout(0.25f, new Rng(1)).toFloatArray();
        float[] b = x.dropout(0.25f, new Rng(1)).toFloatArray();
        assertArrayEquals(a, b);
        int zeros = 0;
        for (float v : a) {
            if (v == 0) {
                zeros++;
            } else {
                assertEquals(1f / 0.75f, v, 1e-6f);
            }
        }
        assertTrue(zeros > 200 && zeros < 300, "zeros " + zeros);
    }
}
