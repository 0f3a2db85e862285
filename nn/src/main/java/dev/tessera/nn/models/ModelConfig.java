package dev.tessera.nn.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Activation;
import dev.tessera.nn.RotaryEmbedding;
import dev.tessera.nn.io.Json;
import dev.tessera.nn.io.PythonJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A model's {@code config.json}, read as transformers reads it (its defaults for absent keys)
 * and checked: every size positive, heads dividing the hidden size, key/value heads dividing
 * the heads, and so on, each problem a one-line error naming the file and the key.
 *
 * <pre>{@code
 * ModelConfig cfg = ModelConfig.read(Path.of("models/gpt2/config.json"));
 * cfg.family();          // GPT2
 * cfg.hiddenSize();      // 768
 * ModelConfig tiny = ModelConfig.parse("""
 *     {"model_type": "llama", "vocab_size": 96, "hidden_size": 32, "intermediate_size": 64,
 *      "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2}""", "inline");
 * }</pre>
 *
 * Supported {@code model_type}s: {@code gpt2}; {@code llama} (also SmolLM, TinyLlama),
 * {@code mistral} and {@code qwen2} (q/k/v biases). The original JSON is kept and written back
 * by {@link CausalLM#save}, so keys Tessera does not use survive a round trip.
 */
public final class ModelConfig {
    /** The architecture a config describes. */
    public enum Family { GPT2, LLAMA }

    private final ObjectNode json;
    private final String source;
    private final String modelType;
    // Set once, by the constructor through readGpt2 / readLlama; never changed afterwards.
    private Family family;
    private int vocabSize, hiddenSize, numLayers, numHeads, numKvHeads, headDim, intermediateSize, maxPositions;
    private float normEps;
    private Activation activation;
    private boolean tieWordEmbeddings, qkvBias, outputBias, mlpBias;
    private float embdDropout, attnDropout, residDropout;
    private final double initializerRange;
    private float[] ropeInverseFrequencies;
    private double ropeTheta;
    private int[] slidingWindows;
    private boolean scaleAttnWeights, scaleAttnByInverseLayerIdx;
    private final int[] eosTokenIds;
    private final Integer bosTokenId, padTokenId;

    private ModelConfig(ObjectNode json, String source) {
        this.json = json;
        this.source = source;
        Reader r = new Reader(json, source);
        this.modelType = r.string("model_type", null);
        if (modelType == null) {
            throw r.error("model_type", "is missing (expected gpt2, llama, mistral or qwen2)");
        }
        switch (modelType) {
            case "gpt2" -> readGpt2(r);
            case "llama", "mistral", "qwen2" -> readLlama(r);
            default -> throw r.error("model_type", "'" + modelType + "' is not supported (expected gpt2, llama, mistral or qwen2)");
        }
        this.initializerRange = r.positiveDouble("initializer_range", 0.02);
        this.bosTokenId = r.optionalTokenId("bos_token_id");
        this.padTokenId = r.optionalTokenId("pad_token_id");
        this.eosTokenIds = r.tokenIds("eos_token_id");
    }

    /** GPT-2's keys ({@code n_embd}, {@code n_layer}, ...) with transformers' GPT2Config defaults. */
    private void readGpt2(Reader r) {
        family = Family.GPT2;
        vocabSize = r.positiveInt("vocab_size", 50257);
        maxPositions = r.positiveInt("n_positions", 1024);
        hiddenSize = r.positiveInt("n_embd", 768);
        numLayers = r.layerCount("n_layer", 12);
        numHeads = r.positiveInt("n_head", 12);
        numKvHeads = numHeads;
        if (hiddenSize % numHeads != 0) {
            throw r.error("n_head", "(" + numHeads + ") must divide n_embd (" + hiddenSize + ")");
        }
        headDim = hiddenSize / numHeads;
        Integer inner = r.optionalPositiveInt("n_inner");
        intermediateSize = inner == null ? 4 * hiddenSize : inner;
        activation = r.activation("activation_function", "gelu_new");
        normEps = r.positiveFloat("layer_norm_epsilon", 1e-5);
        embdDropout = r.probability("embd_pdrop", 0.1);
        attnDropout = r.probability("attn_pdrop", 0.1);
        residDropout = r.probability("resid_pdrop", 0.1);
        tieWordEmbeddings = r.bool("tie_word_embeddings", true);
        qkvBias = true;
        outputBias = true;
        mlpBias = true;
        scaleAttnWeights = r.bool("scale_attn_weights", true);
        scaleAttnByInverseLayerIdx = r.bool("scale_attn_by_inverse_layer_idx", false);
        ropeTheta = 0;
        ropeInverseFrequencies = null;
        slidingWindows = new int[numLayers];
        if (r.bool("add_cross_attention", false)) {
            throw r.error("add_cross_attention", "is true: cross-attention (encoder-decoder GPT-2) is not supported");
        }
    }

    /** The Llama family's keys (Llama, Mistral, Qwen2) with each one's transformers defaults. */
    private void readLlama(Reader r) {
        family = Family.LLAMA;
        boolean qwen = modelType.equals("qwen2"), mistral = modelType.equals("mistral");
        vocabSize = r.positiveInt("vocab_size", qwen ? 151936 : 32000);
        hiddenSize = r.positiveInt("hidden_size", 4096);
        intermediateSize = r.positiveInt("intermediate_size", qwen ? 22016 : mistral ? 14336 : 11008);
        numLayers = r.layerCount("num_hidden_layers", 32);
        numHeads = r.positiveInt("num_attention_heads", 32);
        Integer kv = r.optionalPositiveInt("num_key_value_heads");
        numKvHeads = kv != null ? kv : mistral ? 8 : numHeads;
        if (numHeads % numKvHeads != 0) {
            throw r.error("num_key_value_heads", "(" + numKvHeads + ") must divide num_attention_heads (" + numHeads + ")");
        }
        Integer hd = r.optionalPositiveInt("head_dim");
        if (hd == null && hiddenSize % numHeads != 0) {
            throw r.error("num_attention_heads", "(" + numHeads + ") must divide hidden_size (" + hiddenSize + ") when head_dim is not given");
        }
        headDim = hd != null ? hd : hiddenSize / numHeads;
        if (headDim % 2 != 0) {
            throw r.error(hd != null ? "head_dim" : "hidden_size", "gives an odd head dimension " + headDim + "; rotary embeddings need an even one");
        }
        maxPositions = r.positiveInt("max_position_embeddings", qwen ? 32768 : mistral ? 131072 : 2048);
        activation = r.activation("hidden_act", "silu");
        normEps = r.positiveFloat("rms_norm_eps", 1e-6);
        embdDropout = 0;
        attnDropout = r.probability("attention_dropout", 0.0);
        residDropout = 0;
        tieWordEmbeddings = r.bool("tie_word_embeddings", false);
        boolean attentionBias = r.bool("attention_bias", false);
        qkvBias = qwen || attentionBias;
        outputBias = !qwen && attentionBias;
        mlpBias = r.bool("mlp_bias", false);
        scaleAttnWeights = true;
        scaleAttnByInverseLayerIdx = false;
        JsonNode rope = json.get("rope_parameters");
        if (rope != null && !rope.isNull() && !rope.isObject()) {
            throw r.error("rope_parameters", "must be a JSON object");
        }
        JsonNode scaling = rope != null && rope.isObject() ? rope : json.get("rope_scaling");
        String ropeKey = rope != null && rope.isObject() ? "rope_parameters" : "rope_scaling";
        Reader rr = scaling != null && scaling.isObject() ? new Reader((ObjectNode) scaling, source, ropeKey + ".") : null;
        double theta = rr != null && scaling.has("rope_theta") ? rr.positiveDouble("rope_theta", 10000) : r.positiveDouble("rope_theta", 10000);
        ropeTheta = theta;
        ropeInverseFrequencies = RopeScaling.inverseFrequencies(rr, headDim, theta);
        slidingWindows = slidingWindows(r, mistral, qwen, numLayers);
    }

    private static int[] slidingWindows(Reader r, boolean mistral, boolean qwen, int layers) {
        int[] windows = new int[layers];
        Integer window = r.optionalPositiveInt("sliding_window");
        if (window == null || (qwen && !r.bool("use_sliding_window", false))) {
            return windows;
        }
        JsonNode types = r.json.get("layer_types");
        if (types != null && types.isArray()) {
            if (types.size() != layers) {
                throw r.error("layer_types", "has " + types.size() + " entries for " + layers + " layers");
            }
            for (int i = 0; i < layers; i++) {
                String t = types.get(i).asText();
                if (!t.equals("full_attention") && !t.equals("sliding_attention")) {
                    throw r.error("layer_types", "entry " + i + " is '" + t + "' (expected full_attention or sliding_attention)");
                }
                windows[i] = t.equals("sliding_attention") ? window : 0;
            }
        } else if (mistral) {
            Arrays.fill(windows, window);
        } else if (qwen) {
            int fullLayers = r.nonNegativeInt("max_window_layers", 28);
            for (int i = fullLayers; i < layers; i++) {
                windows[i] = window;
            }
        }
        return windows;
    }

    // ---------------------------------------------------------------- reading

    /** Reads and checks a {@code config.json} (or the one in a model folder). */
    public static ModelConfig read(Path path) {
        Path file = Files.isDirectory(path) ? path.resolve("config.json") : path;
        if (!Files.isRegularFile(file)) {
            throw new TesseraException(file + ": no such file");
        }
        String text;
        try {
            if (Files.size(file) > 16 << 20) {
                throw new TesseraException(file + ": larger than 16 MiB, not a model config");
            }
            text = Files.readString(file);
        } catch (IOException e) {
            throw new TesseraException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        return parse(text, file.toString());
    }

    /** Parses config JSON; {@code source} names it in errors (usually the file path). */
    public static ModelConfig parse(String jsonText, String source) {
        return new ModelConfig(Json.parseObject(jsonText, source), source);
    }

    /**
     * The config as {@link CausalLM#save} writes it, a tree the caller owns: the keys as read
     * (those Tessera does not use included) with {@code dtype} (and {@code torch_dtype} when
     * present) set to float32. Writers add their keys (e.g. {@code quantization_config}) here.
     */
    public ObjectNode toJsonTree() {
        ObjectNode out = json.deepCopy();
        out.put("dtype", "float32");
        if (out.has("torch_dtype")) {
            out.put("torch_dtype", "float32");
        }
        return out;
    }

    /** {@link #toJsonTree()} as transformers writes {@code config.json}: {@code json.dumps(indent=2, sort_keys=True)} and a newline. */
    public String toJson() {
        return PythonJson.dumps(toJsonTree()) + "\n";
    }

    // ---------------------------------------------------------------- accessors

    /** Where the config came from (a path), for error messages. */
    public String source() {
        return source;
    }

    /** {@code model_type} as written: gpt2, llama, mistral, qwen2. */
    public String modelType() {
        return modelType;
    }

    public Family family() {
        return family;
    }

    public int vocabSize() {
        return vocabSize;
    }

    public int hiddenSize() {
        return hiddenSize;
    }

    public int numLayers() {
        return numLayers;
    }

    public int numHeads() {
        return numHeads;
    }

    /** Key/value heads (grouped-query attention); equals {@link #numHeads} for GPT-2. */
    public int numKvHeads() {
        return numKvHeads;
    }

    public int headDim() {
        return headDim;
    }

    /** The MLP's inner size ({@code n_inner} or 4·n_embd for GPT-2, {@code intermediate_size} for Llama). */
    public int intermediateSize() {
        return intermediateSize;
    }

    /** {@code n_positions} / {@code max_position_embeddings}. */
    public int maxPositions() {
        return maxPositions;
    }

    public float normEps() {
        return normEps;
    }

    public Activation activation() {
        return activation;
    }

    public boolean tieWordEmbeddings() {
        return tieWordEmbeddings;
    }

    /** Whether q, k and v projections have biases (Qwen2, or Llama's {@code attention_bias}). */
    public boolean qkvBias() {
        return qkvBias;
    }

    /** Whether the attention output projection has a bias. */
    public boolean outputBias() {
        return outputBias;
    }

    public boolean mlpBias() {
        return mlpBias;
    }

    public float embdDropout() {
        return embdDropout;
    }

    public float attnDropout() {
        return attnDropout;
    }

    public float residDropout() {
        return residDropout;
    }

    public double initializerRange() {
        return initializerRange;
    }

    /** RoPE base ({@code rope_theta} or {@code rope_parameters.rope_theta}); 0 for GPT-2. */
    public double ropeTheta() {
        return ropeTheta;
    }

    /** RoPE inverse frequencies after any {@code rope_scaling} ({@code headDim / 2}); null for GPT-2. */
    public float[] ropeInverseFrequencies() {
        return ropeInverseFrequencies == null ? null : ropeInverseFrequencies.clone();
    }

    /** The sliding attention window of layer {@code i}, 0 for full attention. */
    public int slidingWindow(int layer) {
        return slidingWindows[layer];
    }

    /** GPT-2's {@code scale_attn_weights}: divide scores by sqrt(head_dim). */
    public boolean scaleAttnWeights() {
        return scaleAttnWeights;
    }

    /** GPT-2's {@code scale_attn_by_inverse_layer_idx}: also divide layer i's scores by i + 1. */
    public boolean scaleAttnByInverseLayerIdx() {
        return scaleAttnByInverseLayerIdx;
    }

    /** End-of-sequence ids (one or several; empty when the config has none). */
    public int[] eosTokenIds() {
        return eosTokenIds.clone();
    }

    /** Beginning-of-sequence id, or null. */
    public Integer bosTokenId() {
        return bosTokenId;
    }

    /** Padding id, or null. */
    public Integer padTokenId() {
        return padTokenId;
    }

    @Override
    public String toString() {
        return modelType + "(vocab=" + vocabSize + ", hidden=" + hiddenSize + ", layers=" + numLayers + ", heads=" + numHeads
                + "/" + numKvHeads + ", head_dim=" + headDim + ", inner=" + intermediateSize + ")";
    }

    // ---------------------------------------------------------------- typed, checked access

    /** Typed reads of one JSON object; every error names the source and the key. */
    static final class Reader {
        final ObjectNode json;
        private final String source;
        private final String prefix;

        Reader(ObjectNode json, String source) {
            this(json, source, "");
        }

        Reader(ObjectNode json, String source, String prefix) {
            this.json = json;
            this.source = source;
            this.prefix = prefix;
        }

        TesseraException error(String key, String problem) {
            return new TesseraException(source + ": " + prefix + key + " " + problem);
        }

        private JsonNode value(String key) {
            JsonNode v = json.get(key);
            return v == null || v.isNull() ? null : v;
        }

        String string(String key, String fallback) {
            JsonNode v = value(key);
            if (v == null) {
                return fallback;
            }
            if (!v.isTextual()) {
                throw error(key, "must be a string, got " + v);
            }
            return v.textValue();
        }

        boolean bool(String key, boolean fallback) {
            JsonNode v = value(key);
            if (v == null) {
                return fallback;
            }
            if (!v.isBoolean()) {
                throw error(key, "must be true or false, got " + v);
            }
            return v.booleanValue();
        }

        private long integer(String key, JsonNode v) {
            if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble()))) {
                throw error(key, "must be an integer, got " + v);
            }
            if (!v.canConvertToLong()) {
                throw error(key, "is out of range: " + v);
            }
            return v.asLong();
        }

        Integer optionalPositiveInt(String key) {
            JsonNode v = value(key);
            if (v == null) {
                return null;
            }
            long n = integer(key, v);
            if (n <= 0 || n > Integer.MAX_VALUE / 8) {
                throw error(key, "must be a positive integer below " + Integer.MAX_VALUE / 8 + ", got " + v);
            }
            return (int) n;
        }

        /** A layer count: positive and at most 4096 (real models have at most a few hundred). */
        int layerCount(String key, int fallback) {
            int n = positiveInt(key, fallback);
            if (n > 4096) {
                throw error(key, "must be at most 4096 layers, got " + n);
            }
            return n;
        }

        int positiveInt(String key, int fallback) {
            Integer n = optionalPositiveInt(key);
            return n == null ? fallback : n;
        }

        int nonNegativeInt(String key, int fallback) {
            JsonNode v = value(key);
            if (v == null) {
                return fallback;
            }
            long n = integer(key, v);
            if (n < 0 || n > Integer.MAX_VALUE) {
                throw error(key, "must be a non-negative integer, got " + v);
            }
            return (int) n;
        }

        double positiveDouble(String key, double fallback) {
            JsonNode v = value(key);
            if (v == null) {
                return fallback;
            }
            if (!v.isNumber() || !(v.asDouble() > 0) || Double.isInfinite(v.asDouble())) {
                throw error(key, "must be a positive number, got " + v);
            }
            return v.asDouble();
        }

        float positiveFloat(String key, double fallback) {
            return (float) positiveDouble(key, fallback);
        }

        float probability(String key, double fallback) {
            JsonNode v = value(key);
            if (v == null) {
                return (float) fallback;
            }
            if (!v.isNumber() || !(v.asDouble() >= 0 && v.asDouble() < 1)) {
                throw error(key, "must be a probability in [0, 1), got " + v);
            }
            return (float) v.asDouble();
        }

        Activation activation(String key, String fallback) {
            String name = string(key, fallback);
            Activation a = Activation.fromHfName(name);
            if (a == null) {
                throw error(key, "'" + name + "' is not supported (supported: gelu_new, gelu_pytorch_tanh, gelu_fast, silu, swish, relu, tanh)");
            }
            return a;
        }

        Integer optionalTokenId(String key) {
            JsonNode v = value(key);
            if (v == null) {
                return null;
            }
            long n = integer(key, v);
            if (n < 0 || n > Integer.MAX_VALUE) {
                throw error(key, "must be a non-negative token id, got " + v);
            }
            return (int) n;
        }

        int[] tokenIds(String key) {
            JsonNode v = value(key);
            if (v == null) {
                return new int[0];
            }
            if (!v.isArray()) {
                return new int[] {optionalTokenId(key)};
            }
            int[] ids = new int[v.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode e = v.get(i);
                long n = e.isIntegralNumber() ? e.asLong() : -1;
                if (n < 0 || n > Integer.MAX_VALUE) {
                    throw error(key, "must hold non-negative token ids, got " + v);
                }
                ids[i] = (int) n;
            }
            return ids;
        }
    }

    /** Rotary frequencies for {@code rope_type} default, linear and llama3 (the types Tessera supports). */
    static final class RopeScaling {
        private RopeScaling() {}

        static float[] inverseFrequencies(Reader r, int headDim, double theta) {
            float[] inv = RotaryEmbedding.defaultInverseFrequencies(headDim, theta);
            if (r == null) {
                return inv;
            }
            String type = r.string("rope_type", r.string("type", "default"));
            switch (type) {
                case "default" -> {
                    return inv;
                }
                case "linear" -> {
                    float factor = (float) r.positiveDouble("factor", 1);
                    for (int i = 0; i < inv.length; i++) {
                        inv[i] /= factor;
                    }
                    return inv;
                }
                case "llama3" -> {
                    // transformers' _compute_llama3_parameters
                    double factor = r.positiveDouble("factor", 8);
                    double low = r.positiveDouble("low_freq_factor", 1);
                    double high = r.positiveDouble("high_freq_factor", 4);
                    if (!(high > low)) {
                        throw r.error("high_freq_factor", "(" + high + ") must exceed low_freq_factor (" + low + ")");
                    }
                    double old = r.positiveInt("original_max_position_embeddings", 8192);
                    double lowWavelen = old / low, highWavelen = old / high;
                    for (int i = 0; i < inv.length; i++) {
                        float f = inv[i];
                        float wavelen = (float) (2 * Math.PI / f);
                        float scaled = wavelen > lowWavelen ? (float) (f / factor) : f;
                        boolean medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
                        if (medium) {
                            float smooth = (float) ((old / wavelen - low) / (high - low));
                            scaled = (float) ((1 - smooth) * scaled / factor + smooth * scaled);
                        }
                        inv[i] = scaled;
                    }
                    return inv;
                }
                default -> throw r.error("rope_type", "'" + type + "' is not supported (supported: default, linear, llama3)");
            }
        }
    }
}
