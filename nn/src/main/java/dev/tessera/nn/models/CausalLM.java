package dev.tessera.nn.models;

import dev.tessera.core.Autocast;
import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Dropout;
import dev.tessera.nn.Embedding;
import dev.tessera.nn.Init;
import dev.tessera.nn.KvCache;
import dev.tessera.nn.Linear;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import dev.tessera.nn.ParameterSource;
import dev.tessera.nn.io.AtomicFiles;
import dev.tessera.nn.io.SafeTensors;
import dev.tessera.nn.io.WeightFolderReader;
import dev.tessera.nn.io.WeightFolders;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * A decoder-only language model in Hugging Face's layout ({@code GPT2LMHeadModel},
 * {@code LlamaForCausalLM} and its relatives): token ids in, next-token logits out.
 *
 * <pre>{@code
 * CausalLM model = CausalLM.load(Path.of("models/gpt2"));     // config.json + safetensors
 * Tensor ids = Tensor.ofInts(new int[] {464, 3290, 318}, 1, 3);
 * Tensor logits = model.logits(ids);                          // [1, 3, vocab]
 * Tensor loss = model.loss(ids, ids);                         // HF-style shifted mean CE
 * loss.backward();
 * model.save(Path.of("out"));                                 // config.json + model.safetensors
 * }</pre>
 *
 * Compute is F32: BF16 and F16 checkpoints are converted to F32 when loaded, and {@link #save}
 * writes F32. Parameter names are Hugging Face's; a tied output head shares the embedding's
 * tensor and is neither listed nor saved separately, as transformers does.
 */
public abstract sealed class CausalLM extends Module permits Gpt2Model, LlamaModel {
    private final ModelConfig config;
    private final Rng dropoutRng;
    private WeightFolderReader mapped; // open while parameters read a checkpoint in place
    private boolean recomputeActivations; // "gradient checkpointing" to users, as in transformers
    private String decoderName; // "transformer" or "model": set once, while the subclass builds itself

    CausalLM(ModelConfig config, Rng dropoutRng) {
        this.config = config;
        this.dropoutRng = dropoutRng;
    }

    /**
     * The transformer under {@code transformer} (GPT-2) or {@code model} (Llama): the token
     * embedding, the blocks and the final norm.
     */
    interface Decoder {
        Embedding tokenEmbedding();

        /** The final, normed hidden states of {@code embeds}; see {@link CausalLM#hiddenStates(Tensor, KvCache)}. */
        Tensor forward(Tensor embeds, KvCache cache, CausalLM model);

        /** The same for packed rows; see {@link CausalLM#hiddenStates(Tensor, Tensor, long[])}. */
        Tensor forward(Tensor embeds, Tensor positionIds, long[] sequenceIds, CausalLM model);
    }

    /** Child {@code name} is the decoder: registers it, then {@code lm_head} after it (transformers' parameter order). */
    final <D extends Module & Decoder> void addDecoderAndHead(String name, D decoder, ParameterSource src) {
        decoderName = name;
        addModule(name, decoder);
        addModule("lm_head", config.tieWordEmbeddings()
                ? new Linear(decoder.tokenEmbedding().weight(), null)
                : new Linear(src.under("lm_head"), config.hiddenSize(), config.vocabSize(), false, Init.normal(config.initializerRange())));
    }

    private Decoder decoder() {
        return child(decoderName, Decoder.class);
    }

    // ---------------------------------------------------------------- construction

    /** Loads {@code config.json} and the weights of a Hugging Face model folder (copied into memory, F32). */
    public static CausalLM load(Path dir) {
        return load(dir, false);
    }

    /**
     * Fails before building when config.json claims more layers than the checkpoint holds, so a
     * hostile layer count cannot make us build (and report) millions of missing blocks.
     */
    private static void checkLayerCount(Path dir, ModelConfig config, WeightFolderReader weights) {
        java.util.regex.Pattern layer = java.util.regex.Pattern.compile("(?:^|\\.)(?:h|layers)\\.(\\d{1,9})\\.");
        int found = 0;
        for (String name : weights.names()) {
            java.util.regex.Matcher m = layer.matcher(name);
            if (m.find()) {
                found = Math.max(found, Integer.parseInt(m.group(1)) + 1);
            }
        }
        if (config.numLayers() > found) {
            throw new TesseraException(dir.resolve("config.json") + ": " + config.numLayers() + " layers, but the checkpoint holds "
                    + found);
        }
    }

    /**
     * Loads a model folder. With {@code inPlace}, F32 weights are read from the memory-mapped
     * checkpoint without a copy: fast and light, but read-only, so the model comes back frozen
     * (use it as a base for adapters, or for inference); {@link #release()} unmaps it.
     * BF16/F16 weights are always converted to F32 copies. Missing, unexpected and mis-shaped
     * tensors are reported together in one error.
     */
    public static CausalLM load(Path dir, boolean inPlace) {
        return load(dir, inPlace, null);
    }

    /**
     * Loads a model folder straight onto {@code device} (every weight F32 and trainable, as
     * {@link #load(Path)}): each tensor is read with file reads into one reusable host buffer and
     * copied to the device, so the host never holds the model, only its largest tensor. Equal, bit
     * for bit, to loading on the CPU and moving the model with {@code to(device)}.
     *
     * <pre>{@code
     * CausalLM model = CausalLM.load(Path.of("models/gpt2"), Device.cuda(0));
     * }</pre>
     */
    public static CausalLM load(Path dir, Device device) {
        return device.isCpu() ? load(dir, false) : load(dir, false, device);
    }

    private static CausalLM load(Path dir, boolean inPlace, Device device) {
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        WeightFolderReader weights = WeightFolders.open(dir);
        CausalLM model = null;
        DeviceStaging staging = device == null ? null : new DeviceStaging(weights, device);
        try {
            checkLayerCount(dir, config, weights);
            WeightFolderSource source = new WeightFolderSource(weights, dir, inPlace, null, staging);
            model = build(config, source, 0);
            source.finish(config);
            if (inPlace) {
                model.requiresGrad(false);
                model.mapped = weights;
            }
            return model;
        } catch (RuntimeException | Error e) {
            if (model != null) {
                model.release();
            }
            throw e;
        } finally {
            if (staging != null) {
                staging.close();
            }
            if (!inPlace) {
                weights.close();
            }
        }
    }

    /**
     * Loads a model folder to stay frozen (a base for adapters, or for inference), keeping its
     * matrices at {@code dtype}: null keeps each as the checkpoint stores it (transformers'
     * {@code torch_dtype="auto"}), so a BF16 checkpoint stays BF16 and products widen it to F32
     * inside the GEMM. Vectors (norms, biases) are F32. Tensors are read one at a time with file
     * reads, never through the mapping, so peak memory is the model's own plus one tensor; the
     * checkpoint is closed when this returns.
     *
     * <pre>{@code
     * CausalLM base = CausalLM.loadFrozen(Path.of("models/llama-bf16"), null, WeightInterceptor.NONE);
     * PeftModel peft = PeftModel.of(base, LoraConfig.defaults());   // adapters F32, base BF16
     * }</pre>
     *
     * {@code interceptor} may take any weight over as it is read (quantization streams this way).
     */
    public static CausalLM loadFrozen(Path dir, DType dtype, WeightInterceptor interceptor) {
        return loadFrozen(dir, dtype, interceptor, Device.CPU);
    }

    /**
     * As {@link #loadFrozen(Path, DType, WeightInterceptor)}, straight onto {@code device}: every
     * weight the interceptor does not take is read into one reusable host buffer, copied to the
     * device and converted there, so the host holds one tensor at a time, never the model. Equal,
     * bit for bit, to loading on the CPU and moving the model.
     */
    public static CausalLM loadFrozen(Path dir, DType dtype, WeightInterceptor interceptor, Device device) {
        if (dtype != null && dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new TesseraException("frozen weights can be F32, BF16 or F16, not " + dtype);
        }
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        try (WeightFolderReader weights = WeightFolders.open(dir);
                DeviceStaging staging = device.isCpu() ? null : new DeviceStaging(weights, device)) {
            checkLayerCount(dir, config, weights);
            WeightFolderSource source = new WeightFolderSource(weights, dir, false,
                    new WeightFolderSource.FrozenLoad(dtype, interceptor), staging);
            CausalLM model = build(config, source, 0);
            try {
                source.finish(config);
            } catch (RuntimeException e) {
                model.release();
                throw e;
            }
            model.requiresGrad(false);
            return model;
        }
    }

    /** Takes weights over while {@link #loadFrozen} reads them. */
    @FunctionalInterface
    public interface WeightInterceptor {
        /** Loads every weight as usual. */
        WeightInterceptor NONE = (name, shape, read) -> null;

        /**
         * The parameter to use for {@code name} of {@code shape} (unowned; e.g. a stand-in that
         * a quantized layer replaces later), or null to load it as usual. {@code read} reads the
         * stored tensor widened to F32, slice by slice (the F32 copy, owned by the current scope,
         * is the only one made).
         */
        Tensor intercept(String name, int[] shape, java.util.function.Supplier<Tensor> read);
    }

    /** A freshly initialised model (transformers' {@code _init_weights}), all randomness from {@code seed}. */
    public static CausalLM create(ModelConfig config, long seed) {
        return build(config, ParameterSource.random(new Rng(seed)), seed);
    }

    /** A model whose parameters come from {@code source} (names are Hugging Face's). */
    public static CausalLM create(ModelConfig config, ParameterSource source) {
        return build(config, source, 0);
    }

    private static CausalLM build(ModelConfig config, ParameterSource source, long seed) {
        Rng dropout = new Rng(seed ^ 0x5DEECE66DL);
        return switch (config.family()) {
            case GPT2 -> new Gpt2Model(config, source, dropout);
            case LLAMA -> new LlamaModel(config, source, dropout);
        };
    }

    // ---------------------------------------------------------------- accessors

    public final ModelConfig config() {
        return config;
    }

    /** The RNG behind every dropout mask in this model (its state can be saved and restored). */
    public final Rng dropoutRng() {
        return dropoutRng;
    }

    /**
     * Gradient checkpointing (transformers' {@code gradient_checkpointing_enable()}): each
     * block's activations are dropped after the forward pass and recomputed during backward,
     * trading one extra block forward for memory. Applies when gradients are recorded and no
     * KV cache is used; dropout masks are replayed exactly.
     */
    public final void setGradientCheckpointing(boolean on) {
        recomputeActivations = on;
    }

    public final boolean isGradientCheckpointing() {
        return recomputeActivations;
    }

    /**
     * Runs a block on {@code x}: in its own scope when no gradient is recorded and no KV cache is
     * filled, through {@link Autograd#recompute} (activations recomputed in backward) when
     * gradient checkpointing applies, else as it is.
     */
    final Tensor runBlock(UnaryOperator<Tensor> block, Tensor x, KvCache cache) {
        if (cache == null && !Autograd.isGradEnabled()) {
            // inference without a KV cache (score, evaluation): nothing reads a block's temporaries
            // again, so they go when the block ends, as recomputation's forward does; otherwise a
            // 7B forward over 128 tokens holds 2 GB of them until the caller's scope closes
            try (var scope = Scope.open()) {
                return scope.keep(block.apply(x));
            }
        }
        if (!recomputeActivations || cache != null) {
            return block.apply(x);
        }
        // the RNG is replayed only when masks are drawn (replaying costs time)
        boolean dropout = namedModules().values().stream().anyMatch(m -> m instanceof Dropout d && d.isActive());
        return Autograd.recompute(block, x, dropout ? dropoutRng : null);
    }

    /** The token embedding ({@code transformer.wte} / {@code model.embed_tokens}). */
    public Embedding inputEmbeddings() {
        return decoder().tokenEmbedding();
    }

    /** The output head ({@code lm_head}); shares the embedding's tensor when tied. */
    public LinearLayer lmHead() {
        return child("lm_head", LinearLayer.class);
    }


    /**
     * The final, normed hidden states {@code [B, T, C]} of input embeddings {@code [B, T, C]}
     * (Hugging Face's {@code inputs_embeds}). With a cache, the inputs sit at positions
     * {@code cache.length() ...}, and the cache advances by T.
     */
    public Tensor hiddenStates(Tensor inputsEmbeds, KvCache cache) {
        return decoder().forward(inputsEmbeds, cache, this);
    }

    /**
     * The final, normed hidden states {@code [B, T, C]} of packed rows: per-token positions
     * {@code positionIds [B, T]} (I64, on the embeddings' device) and the block-diagonal causal
     * mask of {@code sequenceIds} ({@code [B, T]} flattened; see {@link #logits(Tensor, Tensor, Tensor)}).
     */
    Tensor hiddenStates(Tensor inputsEmbeds, Tensor positionIds, long[] sequenceIds) {
        return decoder().forward(inputsEmbeds, positionIds, sequenceIds, this);
    }

    /** A cache for {@code batch} sequences of up to {@code capacity} positions. */
    public final KvCache newCache(int batch, int capacity) {
        return new KvCache(config.numLayers(), batch, config.numKvHeads(), config.headDim(), capacity);
    }

    // ---------------------------------------------------------------- forward

    /** Logits {@code [B, T, V]} for token ids {@code [B, T]} (I64). */
    public final Tensor logits(Tensor ids) {
        return logits(ids, null);
    }

    /** Logits {@code [B, T, V]}, continuing the sequences held in {@code cache} (may be null). */
    public final Tensor logits(Tensor ids, KvCache cache) {
        checkIds(ids);
        return lmHead().forward(hiddenStates(inputEmbeddings().forward(ids), cache));
    }

    /**
     * Logits {@code [B, T, V]} of rows holding several examples back to back (Hugging Face's
     * padding-free training, {@code DataCollatorWithFlattening}). {@code positionIds [B, T]}
     * (I64) restart at 0 for every example and feed the learned positions or RoPE;
     * {@code sequenceIds [B, T]} (I64) give each token's example, negative on padding. Query i
     * attends key j only when {@code j <= i}, {@code sequenceIds[i] == sequenceIds[j]} and
     * {@code sequenceIds[j] >= 0}, so every example's logits are those it has alone.
     *
     * <pre>{@code
     * Tensor ids = Tensor.ofInts(new int[] {5, 6, 7, 9, 4, 0}, 1, 6);      // [ex0 | ex1 | pad]
     * Tensor pos = Tensor.ofInts(new int[] {0, 1, 2, 0, 1, 0}, 1, 6);
     * Tensor seq = Tensor.ofInts(new int[] {0, 0, 0, 1, 1, -1}, 1, 6);
     * Tensor logits = model.logits(ids, pos, seq);                         // [1, 6, V]
     * }</pre>
     */
    public final Tensor logits(Tensor ids, Tensor positionIds, Tensor sequenceIds) {
        checkIds(ids);
        checkPacking(ids, positionIds, sequenceIds);
        Tensor embeds = inputEmbeddings().forward(ids);
        return lmHead().forward(hiddenStates(embeds, positionIds.to(embeds.device()), sequenceIds.toLongArray()));
    }

    /** Logits {@code [B, T, V]} for input embeddings {@code [B, T, C]} (e.g. with soft prompts prepended). */
    public final Tensor logitsFromEmbeddings(Tensor inputsEmbeds, KvCache cache) {
        return lmHead().forward(hiddenStates(inputsEmbeds, cache));
    }

    /** Logits {@code [B, V]} of the last position only: the output head runs on one row per sequence. */
    public final Tensor nextTokenLogits(Tensor ids, KvCache cache) {
        checkIds(ids);
        Tensor h = hiddenStates(inputEmbeddings().forward(ids), cache);
        return lmHead().forward(h.narrow(1, h.size(1) - 1, 1).squeeze(1));
    }

    /**
     * Hugging Face's causal-LM loss for ids and labels {@code [B, T]}: the logits at position t
     * predict label t + 1, labels of -100 are ignored, the mean is over the rest (a 0-dim F32).
     */
    public final Tensor loss(Tensor ids, Tensor labels) {
        if (!Arrays.equals(ids.shape(), labels.shape())) {
            throw new TesseraException("loss: labels " + Arrays.toString(labels.shape()) + " must have the shape of ids "
                    + Arrays.toString(ids.shape()));
        }
        checkIds(ids);
        Tensor hidden = hiddenStates(inputEmbeddings().forward(ids), null);
        return headLoss(hidden, labels);
    }

    /**
     * The shifted causal-LM loss of final hidden states {@code [B, T, C]}: through the fused,
     * chunked linear + cross entropy when the head is a plain bias-free {@link Linear} (the
     * {@code [B*T, V]} logits never exist whole), else through the head's logits. Equal either way.
     */
    private Tensor headLoss(Tensor hidden, Tensor labels) {
        if (lmHead() instanceof Linear head && head.bias() == null && Autocast.current() == null) {
            int b = hidden.size(0), t = hidden.size(1);
            return hidden.reshape(b * t, hidden.size(2)).linearCrossEntropy(head.weight(), shiftedLabels(labels).to(hidden.device()));
        }
        return causalLmLoss(lmHead().forward(hidden), labels);
    }

    /** Labels {@code [B, T]} moved one left (position t predicts label t + 1), -100 last, flattened to {@code [B*T]}. */
    private static Tensor shiftedLabels(Tensor labels) {
        int b = labels.size(0), t = labels.size(1);
        Tensor last = Tensor.full(-100, DType.I64, labels.device(), b, 1);
        Tensor shifted = t == 1 ? last : Tensor.cat(1, labels.narrow(1, 1, t - 1), last);
        return shifted.reshape(b * t);
    }

    /**
     * The causal-LM loss of packed rows (see {@link #logits(Tensor, Tensor, Tensor)}): the
     * mean over every example's labelled next-token predictions, so it equals the
     * token-weighted mean of the examples' losses run alone. A prediction across an example
     * boundary, or from or into padding, is never scored (packed data labels every example's
     * first token -100 anyway).
     */
    public final Tensor loss(Tensor ids, Tensor labels, Tensor positionIds, Tensor sequenceIds) {
        if (!Arrays.equals(ids.shape(), labels.shape())) {
            throw new TesseraException("loss: labels " + Arrays.toString(labels.shape()) + " must have the shape of ids "
                    + Arrays.toString(ids.shape()));
        }
        checkIds(ids);
        checkPacking(ids, positionIds, sequenceIds);
        Tensor embeds = inputEmbeddings().forward(ids);
        Tensor hidden = hiddenStates(embeds, positionIds.to(embeds.device()), sequenceIds.toLongArray());
        return headLoss(hidden, withinSequenceLabels(labels, sequenceIds));
    }

    /** {@code labels} with -100 at every token whose predecessor belongs to another example (or that is padding). */
    private static Tensor withinSequenceLabels(Tensor labels, Tensor sequenceIds) {
        int b = labels.size(0), t = labels.size(1);
        long[] l = labels.toLongArray(), seq = sequenceIds.toLongArray();
        boolean changed = false;
        for (int i = 0; i < b; i++) {
            for (int j = 1; j < t; j++) {
                int at = i * t + j;
                if (l[at] != -100 && (seq[at] < 0 || seq[at] != seq[at - 1])) {
                    l[at] = -100;
                    changed = true;
                }
            }
        }
        return changed ? Tensor.ofLongs(l, b, t) : labels;
    }

    /** The shifted, -100-ignoring mean cross entropy of logits {@code [B, T, V]} against labels {@code [B, T]}. */
    public static Tensor causalLmLoss(Tensor logits, Tensor labels) {
        if (logits.dim() != 3 || labels.dim() != 2 || logits.size(0) != labels.size(0) || logits.size(1) != labels.size(1)) {
            throw new TesseraException("loss: expected logits [B, T, V] and labels [B, T], got " + Arrays.toString(logits.shape())
                    + " and " + Arrays.toString(labels.shape()));
        }
        int b = labels.size(0), t = labels.size(1), v = logits.size(2);
        // every row stays in (the last one ignored), so the logits need no copy
        return logits.reshape(b * t, v).crossEntropy(shiftedLabels(labels).to(logits.device()));
    }

    private void checkIds(Tensor ids) {
        if (ids.dim() != 2 || ids.dtype() != DType.I64) {
            throw new TesseraException("token ids must be an I64 tensor [B, T], got " + ids.dtype() + " " + Arrays.toString(ids.shape()));
        }
        if (ids.size(1) == 0) {
            throw new TesseraException("token ids must hold at least one position");
        }
    }

    private static void checkPacking(Tensor ids, Tensor positionIds, Tensor sequenceIds) {
        for (Tensor x : new Tensor[] {positionIds, sequenceIds}) {
            if (x == null || x.dtype() != DType.I64 || !Arrays.equals(x.shape(), ids.shape())) {
                throw new TesseraException("packed rows: position and sequence ids must be I64 tensors shaped like the ids "
                        + Arrays.toString(ids.shape()) + ", got " + (x == null ? "null" : x.dtype() + " " + Arrays.toString(x.shape())));
            }
        }
    }

    // ---------------------------------------------------------------- saving

    /**
     * Writes {@code config.json} and the weights ({@code model.safetensors}, sharded past 5 GB)
     * into {@code dir} in Hugging Face's layout, F32; {@link #load} gives the same model back.
     */
    public final void save(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new TesseraException(dir + ": cannot create folder (" + e.getMessage() + ")", e);
        }
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            WeightFolders.saveStateDict(dir, SafeTensors.widenedToF32(stateDict()));
        }
        AtomicFiles.writeString(dir.resolve("config.json"), config.toJson());
    }

    /** Frees the parameters and unmaps a checkpoint read in place. */
    @Override
    public void release() {
        super.release();
        if (mapped != null) {
            mapped.close();
            mapped = null;
        }
    }
}
