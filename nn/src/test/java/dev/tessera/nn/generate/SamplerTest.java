package dev.tessera.nn.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Rng;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static final float NEG_INF = Float.NEGATIVE_INFINITY;

    @Test
    void argmaxTakesTheFirstOfEqualMaxima() {
        assertEquals(1, Sampler.argmax(new float[] {0, 3, 1, 3}));
    }

    @Test
    void topKKeepsTheKBestAndTiesAtTheThreshold() {
        float[] s = {1, 5, 3, 3, 0};
        Sampler.topK(s, 2);
        assertEquals(java.util.List.of(NEG_INF, 5f, 3f, 3f, NEG_INF), box(s));
    }

    @Test
    void topPKeepsTheSmallestSetReachingP() {
        // probabilities 0.5, 0.3, 0.2 (logs)
        float[] s = {(float) Math.log(0.5), (float) Math.log(0.3), (float) Math.log(0.2)};
        float[] p7 = s.clone();
        Sampler.topP(p7, 0.7f); // 0.2 dropped (cumulative 0.2 <= 0.3), 0.3 kept
        assertEquals(NEG_INF, p7[2]);
        assertTrue(p7[1] > NEG_INF);
        float[] p4 = s.clone();
        Sampler.topP(p4, 0.4f); // only the best survives
        assertEquals(java.util.List.of(s[0], NEG_INF, NEG_INF), box(p4));
        float[] tiny = s.clone();
        Sampler.topP(tiny, 0.01f);
        assertTrue(tiny[0] > NEG_INF); // the best token always stays
    }

    @Test
    void samplingFollowsTheTemperedDistribution() {
        float[] logits = {0, (float) Math.log(3)}; // p = 0.25, 0.75
        GenerationConfig cfg = GenerationConfig.sampling(1, 1f, 0, 1f, 0);
        Rng rng = new Rng(1);
        int ones = 0, n = 20000;
        for (int i = 0; i < n; i++) {
            ones += Sampler.pick(logits, cfg, rng);
        }
        assertEquals(0.75, ones / (double) n, 0.02);
        GenerationConfig cold = GenerationConfig.sampling(1, 0.05f, 0, 1f, 0);
        int coldOnes = 0;
        for (int i = 0; i < 1000; i++) {
            coldOnes += Sampler.pick(logits, cold, rng);
        }
        assertEquals(1000, coldOnes);
    }

    @Test
    void topKOfOneIsGreedy() {
        float[] logits = {0.1f, 2, 1.9f, -1};
        Rng rng = new Rng(3);
        GenerationConfig cfg = GenerationConfig.sampling(1, 5f, 1, 1f, 0);
        for (int i = 0; i < 100; i++) {
            assertEquals(1, Sampler.pick(logits, cfg, rng));
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
