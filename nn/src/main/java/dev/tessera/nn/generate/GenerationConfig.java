package dev.tessera.nn.generate;

import dev.tessera.core.TesseraException;
import java.util.List;

/**
 * How {@link Generator} picks tokens, named as in Hugging Face's {@code GenerationConfig}.
 * Temperature 0 is greedy decoding; otherwise logits are divided by the temperature, cut to
 * the {@code topK} best (0 = no cut) and to the smallest set whose probability reaches
 * {@code topP} (1 = no cut), in that order, and sampled with a {@link dev.tessera.core.Rng}
 * seeded by {@code seed}.
 *
 * <pre>{@code
 * GenerationConfig greedy = GenerationConfig.greedy(32);
 * GenerationConfig creative = GenerationConfig.sampling(64, 0.8f, 50, 0.95f, 42).withStopStrings("\n\n");
 * }</pre>
 *
 * @param eosTokenIds ids that end generation (the id is kept in the output, as transformers
 *                    does); null means the model config's {@code eos_token_id}, empty means none
 * @param stopStrings texts that end generation once the generated text contains one (needs a
 *                    tokenizer); the token completing it is kept
 */
public record GenerationConfig(int maxNewTokens, float temperature, int topK, float topP, long seed,
                               int[] eosTokenIds, List<String> stopStrings) {
    public GenerationConfig {
        if (maxNewTokens < 0) {
            throw new TesseraException("max new tokens must be >= 0, got " + maxNewTokens);
        }
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new TesseraException("temperature must be >= 0 (0 = greedy), got " + temperature);
        }
        if (topK < 0) {
            throw new TesseraException("top-k must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new TesseraException("top-p must be in (0, 1] (1 = off), got " + topP);
        }
        eosTokenIds = eosTokenIds == null ? null : eosTokenIds.clone();
        stopStrings = stopStrings == null ? List.of() : List.copyOf(stopStrings);
        for (String s : stopStrings) {
            if (s.isEmpty()) {
                throw new TesseraException("stop strings must not be empty");
            }
        }
    }

    /** Greedy decoding of up to {@code maxNewTokens}, stopping at the model's EOS. */
    public static GenerationConfig greedy(int maxNewTokens) {
        return new GenerationConfig(maxNewTokens, 0f, 0, 1f, 0, null, List.of());
    }

    /** Sampling with temperature, top-k (0 = off) and top-p (1 = off), seeded. */
    public static GenerationConfig sampling(int maxNewTokens, float temperature, int topK, float topP, long seed) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, null, List.of());
    }

    /** The same with these EOS ids (none: generate exactly {@code maxNewTokens} unless a stop string hits). */
    public GenerationConfig withEosTokenIds(int... ids) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, ids, stopStrings);
    }

    /** The same with these stop strings. */
    public GenerationConfig withStopStrings(String... strings) {
        return new GenerationConfig(maxNewTokens, temperature, topK, topP, seed, eosTokenIds, List.of(strings));
    }

    @Override
    public int[] eosTokenIds() {
        return eosTokenIds == null ? null : eosTokenIds.clone();
    }

    public boolean isGreedy() {
        return temperature == 0;
    }
}
