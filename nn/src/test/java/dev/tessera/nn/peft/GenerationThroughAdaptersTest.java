package dev.tessera.nn.peft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Autograd;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.KvCache;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Decoding with a cache through any adapter gives the cache-free logits of the whole sequence. */
class GenerationThroughAdaptersTest {
    @ParameterizedTest(name = "{1}")
    @CsvSource({"gpt2-tiny, peft-gpt2-prefix", "llama-tiny, peft-llama-prefix", "gpt2-tiny, peft-gpt2-prompt",
        "llama-tiny, peft-llama-prompt", "llama-tiny, llama-tiny-lora", "gpt2-tiny, peft-gpt2-ia3"})
    void cachedGreedyDecodingMatchesFullRecomputation(String base, String adapter) {
        PeftModel peft = PeftModel.load(PeftFixtures.base(base), PeftFixtures.dir(adapter));
        int[] prompt = {11, 22, 33, 44, 55};
        int steps = 6;
        int[] cached = new int[steps], full = new int[steps];
        double worst = 0;
        try (var ng = Autograd.noGrad(); var scope = Scope.open(); KvCache cache = peft.newCache(1, prompt.length + steps)) {
            int[] seq = prompt;
            Tensor input = ids(prompt);
            for (int i = 0; i < steps; i++) {
                Tensor step = peft.logits(input, cache);
                float[] last = lastRow(step);
                float[] reference = lastRow(peft.logits(ids(seq)));
                worst = Math.max(worst, PeftFixtures.maxAbs(reference, last));
                cached[i] = argmax(last);
                full[i] = argmax(reference);
                seq = Arrays.copyOf(seq, seq.length + 1);
                seq[seq.length - 1] = cached[i];
                input = ids(new int[] {cached[i]});
            }
        } finally {
            peft.release();
        }
        assertArrayEquals(full, cached);
        assertTrue(worst <= 1e-4, adapter + ": cached logits off by " + worst);
    }

    private static Tensor ids(int[] ids) {
        long[] l = new long[ids.length];
        for (int i = 0; i < ids.length; i++) {
            l[i] = ids[i];
        }
        return Tensor.ofLongs(l, 1, ids.length);
    }

    private static float[] lastRow(Tensor logits) {
        int t = logits.size(1), v = logits.size(2);
        return Arrays.copyOfRange(logits.toFloatArray(), (t - 1) * v, t * v);
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            best = x[i] > x[best] ? i : best;
        }
        return best;
    }
}
