package dev.tessera.nn.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Autograd;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.KvCache;
import java.util.function.BiConsumer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Decoding with the cache gives the logits of running the whole sequence without it. */
class KvCacheTest {
    private static final int[] SEQUENCE = {5, 17, 42, 8, 63, 91, 30, 12, 77, 3, 56};

    /** Loads the fixture, computes the logits of the whole SEQUENCE without a cache, then runs {@code check}; no autograd. */
    private static void withFullLogits(String fixture, BiConsumer<CausalLM, float[]> check) {
        Fixtures.withModel(fixture, model -> {
            try (var ng = Autograd.noGrad()) {
                check.accept(model, model.logits(Tensor.ofInts(SEQUENCE, 1, SEQUENCE.length)).toFloatArray());
            }
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny", "qwen2-tiny"})
    void cachedDecodingEqualsFullSequenceLogits(String fixture) {
        withFullLogits(fixture, (model, full) -> {
            int t = SEQUENCE.length, v = model.config().vocabSize();
            try (KvCache cache = model.newCache(1, t)) {
                assertEquals(0, cache.length());
                int prefix = 4;
                int[] head = java.util.Arrays.copyOf(SEQUENCE, prefix);
                float[] first = model.logits(Tensor.ofInts(head, 1, prefix), cache).toFloatArray();
                assertClose(full, 0, first, prefix * v, fixture + " prefill");
                for (int pos = prefix; pos < t; pos++) {
                    float[] step = model.logits(Tensor.ofInts(new int[] {SEQUENCE[pos]}, 1, 1), cache).toFloatArray();
                    assertClose(full, pos * v, step, v, fixture + " position " + pos);
                }
                assertEquals(t, cache.length());
            }
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void nextTokenLogitsAreTheLastRowOfTheLogits(String fixture) {
        withFullLogits(fixture, (model, full) -> {
            int t = SEQUENCE.length, v = model.config().vocabSize();
            float[] last = model.nextTokenLogits(Tensor.ofInts(SEQUENCE, 1, t), null).toFloatArray();
            assertClose(full, (t - 1) * v, last, v, fixture);
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2-tiny", "llama-tiny"})
    void prefixCachesDecodeConsistentlyAndPassGradientsToThePrefix(String fixture) {
        CausalLM model = CausalLM.load(Fixtures.dir(fixture));
        ModelConfig c = model.config();
        int layers = c.numLayers(), p = 3, t = SEQUENCE.length, v = c.vocabSize();
        dev.tessera.core.Rng rng = new dev.tessera.core.Rng(9);
        Tensor[] keys = new Tensor[layers], values = new Tensor[layers];
        for (int i = 0; i < layers; i++) {
            keys[i] = rng.randn(1, c.numKvHeads(), p, c.headDim()).requiresGrad(true);
            values[i] = rng.randn(1, c.numKvHeads(), p, c.headDim()).requiresGrad(true);
        }
        try (var scope = Scope.open()) {
            float[] full;
            try (KvCache cache = KvCache.withPrefix(keys, values, p + t)) {
                assertEquals(p, cache.length());
                Tensor logits = model.logits(Tensor.ofInts(SEQUENCE, 1, t), cache);
                full = logits.toFloatArray();
                logits.sum().backward();
            }
            assertTrue(keys[0].grad() != null && values[layers - 1].grad() != null, "gradients reach the prefix");
            try (var ng = Autograd.noGrad(); KvCache cache = KvCache.withPrefix(keys, values, p + t)) {
                for (int pos = 0; pos < t; pos++) {
                    float[] step = model.logits(Tensor.ofInts(new int[] {SEQUENCE[pos]}, 1, 1), cache).toFloatArray();
                    assertClose(full, pos * v, step, v, fixture + " position " + pos);
                }
            }
        } finally {
            model.release();
        }
    }

    private static void assertClose(float[] full, int offset, float[] part, int count, String what) {
        double worst = 0;
        for (int i = 0; i < count; i++) {
            worst = Math.max(worst, Math.abs(full[offset + i] - part[i]));
        }
        assertTrue(worst <= 1e-5, what + ": cached logits differ by " + worst);
    }
}
