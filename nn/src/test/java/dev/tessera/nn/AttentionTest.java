package dev.tessera.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Gradcheck;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import org.junit.jupiter.api.Test;

class AttentionTest {
    @Test
    void groupedQueryAttentionEqualsNaiveLoopsWithSharedKeyHeads() {
        Rng rng = new Rng(11);
        int b = 2, h = 6, hkv = 2, t = 5, d = 4;
        try (var scope = Scope.open()) {
            Tensor q = rng.randn(b, h, t, d), k = rng.randn(b, hkv, t, d), v = rng.randn(b, hkv, t, d);
            float[] got = Attention.scaledDotProduct(q, k, v, Attention.causalMask(t, t, 0), null).toFloatArray();
            float[] qa = q.toFloatArray(), ka = k.toFloatArray(), va = v.toFloatArray();
            for (int bi = 0; bi < b; bi++) {
                for (int hi = 0; hi < h; hi++) {
                    int g = hi / (h / hkv);
                    for (int i = 0; i < t; i++) {
                        double[] s = new double[i + 1];
                        double max = Double.NEGATIVE_INFINITY, sum = 0;
                        for (int j = 0; j <= i; j++) {
                            for (int e = 0; e < d; e++) {
                                s[j] += qa[((bi * h + hi) * t + i) * d + e] * ka[((bi * hkv + g) * t + j) * d + e];
                            }
                            max = Math.max(max, s[j]);
                        }
                        for (int j = 0; j <= i; j++) {
                            s[j] = Math.exp(s[j] - max);
                            sum += s[j];
                        }
                        for (int e = 0; e < d; e++) {
                            double o = 0;
                            for (int j = 0; j <= i; j++) {
                                o += s[j] / sum * va[((bi * hkv + g) * t + j) * d + e];
                            }
                            assertEquals(o, got[((bi * h + hi) * t + i) * d + e], 1e-5);
                        }
                    }
                }
            }
        }
    }

    @Test
    void attentionGradientsPassGradcheck() {
        Rng rng = new Rng(12);
        Tensor q = rng.randn(1, 4, 3, 2).requiresGrad(true);
        Tensor k = rng.randn(1, 2, 3, 2).requiresGrad(true);
        Tensor v = rng.randn(1, 2, 3, 2).requiresGrad(true);
        Tensor mask = Attention.causalMask(3, 3, 0);
        Gradcheck.Result r = Gradcheck.check(in -> Attention.scaledDotProduct(in[0], in[1], in[2], mask, null),
                new Tensor[] {q, k, v}, 1e-2, 1e-2, 1e-2);
        assertTrue(r.ok(), r.toString());
    }

    @Test
    void causalMaskHidesFutureKeysAndKeysOutsideTheWindow() {
        try (var scope = Scope.open()) {
            float[] m = Attention.causalMask(2, 4, 2).toFloatArray(); // queries at positions 2 and 3
            float inf = Float.NEGATIVE_INFINITY;
            assertEquals(java.util.List.of(inf, 0f, 0f, inf, inf, inf, 0f, 0f), box(m));
            assertNull(Attention.causalMask(1, 9, 0));
            assertNull(Attention.causalMask(1, 4, 4));
        }
    }

    @Test
    void rotaryEmbeddingMatchesRotateHalfInDouble() {
        Rng rng = new Rng(13);
        int d = 8, t = 5, start = 3;
        double theta = 10000;
        RotaryEmbedding rope = new RotaryEmbedding(RotaryEmbedding.defaultInverseFrequencies(d, theta));
        try (var scope = Scope.open()) {
            Tensor x = rng.randn(1, 2, t, d);
            float[] got = rope.apply(x, start, 0.5f).toFloatArray();
            float[] xa = x.toFloatArray();
            for (int row = 0; row < 2 * t; row++) {
                int pos = start + row % t;
                for (int i = 0; i < d; i++) {
                    int pair = i % (d / 2);
                    double angle = pos / Math.pow(theta, 2.0 * pair / d);
                    double rotated = i < d / 2 ? -xa[row * d + i + d / 2] : xa[row * d + i - d / 2];
                    double expected = 0.5 * (xa[row * d + i] * Math.cos(angle) + rotated * Math.sin(angle));
                    assertEquals(expected, got[row * d + i], 1e-5);
                }
            }
        }
    }

    @Test
    void rotaryTablesGrowPastTheirFirstSize() {
        RotaryEmbedding rope = new RotaryEmbedding(RotaryEmbedding.defaultInverseFrequencies(4, 100));
        try (var scope = Scope.open()) {
            Tensor x = Tensor.ones(1, 1, 2, 4);
            float[] early = rope.apply(x, 10, 1f).toFloatArray();
            float[] late = rope.apply(x, 500, 1f).toFloatArray();
            float[] again = rope.apply(x, 10, 1f).toFloatArray();
            assertEquals(java.util.List.of(box(early).toArray()), java.util.List.of(box(again).toArray()));
            assertTrue(late.length == 8);
        }
    }

    private static java.util.List<Float> box(float[] a) {
        java.util.List<Float> out = new java.util.ArrayList<>();
        for (float f : a) {
            out.add(f);
        }
        return out;
    }
}
