package dev.tessera.nn.generate;

import dev.tessera.core.Autograd;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.KvCache;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import dev.tessera.nn.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Autoregressive generation with a KV cache: the prompt is run once, then each new token
 * costs one position. Greedy or sampled per {@link GenerationConfig}; stops at EOS, at a stop
 * string, or after {@code maxNewTokens}.
 *
 * <pre>{@code
 * CausalLM model = CausalLM.load(Path.of("models/gpt2"));
 * Tokenizer tok = Tokenizers.load(Path.of("models/gpt2"));
 * Generator gen = new Generator(model, tok);
 * int[] ids = gen.generate(tok.encode("Once upon a time"), GenerationConfig.sampling(40, 0.8f, 50, 0.95f, 7));
 * System.out.println(tok.decode(ids));
 * }</pre>
 *
 * Runs without gradients and in eval mode (dropout off), restoring the model's mode after.
 */
public final class Generator {
    /**
     * How tokens are decoded: a KV cache, and the V logits of the token after {@code ids} [1, T]
     * given the cache. A plain model decodes itself; a PEFT model with prefix or prompt adapters
     * supplies its own (its cache starts with the virtual tokens).
     */
    public interface Decoder {
        KvCache newCache(int batch, int capacity);

        Tensor nextTokenLogits(Tensor ids, KvCache cache);
    }

    private final CausalLM model;
    private final Tokenizer tokenizer;
    private final Decoder decoder;

    public Generator(CausalLM model) {
        this(model, null);
    }

    /** With a tokenizer, stop strings can be used. */
    public Generator(CausalLM model, Tokenizer tokenizer) {
        this(model, tokenizer, new Decoder() {
            @Override
            public KvCache newCache(int batch, int capacity) {
                return model.newCache(batch, capacity);
            }

            @Override
            public Tensor nextTokenLogits(Tensor ids, KvCache cache) {
                return model.nextTokenLogits(ids, cache);
            }
        });
    }

    /** Decoding through {@code decoder} (e.g. a PEFT model); {@code model} gives the config and train/eval mode. */
    public Generator(CausalLM model, Tokenizer tokenizer, Decoder decoder) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.decoder = decoder;
    }

    /** The new token ids (not the prompt), ending with the EOS id when generation stopped on it. */
    public int[] generate(int[] prompt, GenerationConfig config) {
        return generate(prompt, config, id -> {});
    }

    /** As {@link #generate(int[], GenerationConfig)}, handing each new id to {@code onToken} as it is chosen. */
    public int[] generate(int[] prompt, GenerationConfig config, IntConsumer onToken) {
        ModelConfig mc = model.config();
        if (prompt.length == 0) {
            throw new TesseraException("generate: the prompt needs at least one token");
        }
        for (int id : prompt) {
            if (id < 0 || id >= mc.vocabSize()) {
                throw new TesseraException("generate: prompt token " + id + " is outside the vocabulary of " + mc.vocabSize());
            }
        }
        if (!config.stopStrings().isEmpty() && tokenizer == null) {
            throw new TesseraException("generate: stop strings need a tokenizer (new Generator(model, tokenizer))");
        }
        int total = prompt.length + config.maxNewTokens();
        if (mc.family() == ModelConfig.Family.GPT2 && total > mc.maxPositions()) {
            throw new TesseraException("generate: " + prompt.length + " prompt + " + config.maxNewTokens() + " new tokens exceed n_positions = "
                    + mc.maxPositions());
        }
        int[] eos = config.eosTokenIds() != null ? config.eosTokenIds() : mc.eosTokenIds();
        Rng rng = new Rng(config.seed());
        int[] out = new int[config.maxNewTokens()];
        int n = 0;
        boolean wasTraining = model.isTraining();
        model.eval();
        try (KvCache cache = decoder.newCache(1, total); var ng = Autograd.noGrad()) {
            int[] input = prompt;
            while (n < config.maxNewTokens()) {
                int next;
                try (var scope = Scope.open()) {
                    float[] logits = decoder.nextTokenLogits(Tensor.ofInts(input, 1, input.length).to(model.device()), cache)
                            .toFloatArray();
                    next = Sampler.pick(logits, config, rng);
                }
                out[n++] = next;
                onToken.accept(next);
                if (contains(eos, next) || hitsStopString(out, n, config)) {
                    break;
                }
                input = new int[] {next};
            }
        } finally {
            model.train(wasTraining);
        }
        return Arrays.copyOf(out, n);
    }

    private static boolean contains(int[] ids, int id) {
        for (int x : ids) {
            if (x == id) {
                return true;
            }
        }
        return false;
    }

    private boolean hitsStopString(int[] generated, int count, GenerationConfig config) {
        if (config.stopStrings().isEmpty()) {
            return false;
        }
        String text = tokenizer.decode(Arrays.copyOf(generated, count));
        for (String s : config.stopStrings()) {
            if (text.contains(s)) {
                return true;
            }
        }
        return false;
    }
}
