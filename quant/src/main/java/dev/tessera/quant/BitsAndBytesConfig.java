package dev.tessera.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.core.DType;
import dev.tessera.core.TesseraException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * How to load a model in 4 bits, as transformers' {@code BitsAndBytesConfig(load_in_4bit=True,
 * ...)}: the 4-bit type, double quantization, the compute dtype and the modules to leave in full
 * precision. It is written into {@code config.json} as {@code quantization_config}, with every
 * key transformers writes there ({@link #toJson}).
 *
 * <pre>{@code
 * BitsAndBytesConfig qlora = BitsAndBytesConfig.qlora();          // nf4, double quant, bf16 compute
 * BitsAndBytesConfig mine = new BitsAndBytesConfig(QuantType.FP4, 128, false, DType.F32, List.of("lm_head", "c_proj"));
 * CausalLM model = CausalLM.load(Path.of("models/gpt2"));
 * QuantizedModels.quantize(model, qlora);
 * }</pre>
 *
 * @param quantType {@code bnb_4bit_quant_type}
 * @param blocksize elements per absmax, a power of two in [32, 4096]; bitsandbytes uses 64.
 *     transformers' config has no such key: each tensor's quant_state records it
 * @param doubleQuant {@code bnb_4bit_use_double_quant}
 * @param computeDtype {@code bnb_4bit_compute_dtype}: F32, BF16 or F16 (see {@link Linear4bit})
 * @param skipModules {@code llm_int8_skip_modules}: module-name patterns left unquantized
 *     (matched as transformers does: a regex matching at the start of the name, or a suffix of
 *     it), or null for the default, the output head
 */
public record BitsAndBytesConfig(QuantType quantType, int blocksize, boolean doubleQuant, DType computeDtype,
                                 List<String> skipModules) {
    public BitsAndBytesConfig {
        Objects.requireNonNull(quantType, "quantType");
        QuantState.checkBlocksize(blocksize);
        if (computeDtype != DType.F32 && computeDtype != DType.BF16 && computeDtype != DType.F16) {
            throw new IllegalArgumentException("compute dtype must be F32, BF16 or F16, got " + computeDtype);
        }
        skipModules = skipModules == null ? null : List.copyOf(skipModules);
    }

    /** transformers' defaults for {@code load_in_4bit=True}: FP4, no double quantization, F32 compute. */
    public static BitsAndBytesConfig defaults() {
        return new BitsAndBytesConfig(QuantType.FP4, 64, false, DType.F32, null);
    }

    /** The QLoRA paper's setting: NF4, double quantization, BF16 compute. */
    public static BitsAndBytesConfig qlora() {
        return new BitsAndBytesConfig(QuantType.NF4, 64, true, DType.BF16, null);
    }

    /** The {@code bnb_4bit_compute_dtype} name: "float32", "bfloat16" or "float16". */
    public String computeDtypeName() {
        return switch (computeDtype) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            default -> "float32";
        };
    }

    /**
     * The {@code quantization_config} object with the keys and values of transformers'
     * {@code BitsAndBytesConfig.to_dict()} (for 4-bit; insertion order as transformers builds it,
     * {@code config.json} sorts them).
     */
    public ObjectNode toJson() {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode o = f.objectNode();
        o.put("quant_method", "bitsandbytes");
        o.put("_load_in_8bit", false);
        o.put("_load_in_4bit", true);
        o.put("llm_int8_threshold", 6.0);
        if (skipModules == null) {
            o.putNull("llm_int8_skip_modules");
        } else {
            ArrayNode a = o.putArray("llm_int8_skip_modules");
            skipModules.forEach(a::add);
        }
        o.put("llm_int8_enable_fp32_cpu_offload", false);
        o.put("llm_int8_has_fp16_weight", false);
        o.put("bnb_4bit_quant_type", quantType.bnbName());
        o.put("bnb_4bit_use_double_quant", doubleQuant);
        o.put("bnb_4bit_compute_dtype", computeDtypeName());
        o.put("bnb_4bit_quant_storage", "uint8");
        o.put("load_in_4bit", true);
        o.put("load_in_8bit", false);
        return o;
    }

    /**
     * Reads a {@code quantization_config} object as transformers does (absent keys take its
     * defaults: fp4, no double quantization, float32); the blocksize is bitsandbytes' 64 (each
     * stored tensor carries its own). Only 4-bit bitsandbytes configs with uint8 storage are
     * accepted; errors are one line naming {@code source} and the key.
     */
    public static BitsAndBytesConfig fromJson(JsonNode node, String source) {
        if (node == null || !node.isObject()) {
            throw new TesseraException(source + ": quantization_config must be a JSON object");
        }
        String method = text(node, "quant_method", "bitsandbytes", source);
        if (!method.equals("bitsandbytes")) {
            throw new TesseraException(source + ": quantization_config.quant_method is '" + method
                    + "'; only bitsandbytes 4-bit checkpoints are supported");
        }
        if (bool(node, "load_in_8bit", false, source) || bool(node, "_load_in_8bit", false, source)) {
            throw new TesseraException(source + ": quantization_config has load_in_8bit: 8-bit (LLM.int8) checkpoints are not"
                    + " supported, only load_in_4bit");
        }
        if (!bool(node, "load_in_4bit", false, source) && !bool(node, "_load_in_4bit", false, source)) {
            throw new TesseraException(source + ": quantization_config.load_in_4bit must be true");
        }
        QuantType type = switch (text(node, "bnb_4bit_quant_type", "fp4", source)) {
            case "nf4" -> QuantType.NF4;
            case "fp4" -> QuantType.FP4;
            default -> throw new TesseraException(source + ": quantization_config.bnb_4bit_quant_type must be nf4 or fp4, got '"
                    + node.get("bnb_4bit_quant_type").asText() + "'");
        };
        String storage = text(node, "bnb_4bit_quant_storage", "uint8", source);
        if (!storage.equals("uint8")) {
            throw new TesseraException(source + ": quantization_config.bnb_4bit_quant_storage '" + storage
                    + "' is not supported (expected uint8)");
        }
        String compute = text(node, "bnb_4bit_compute_dtype", "float32", source);
        DType computeDtype = switch (compute.startsWith("torch.") ? compute.substring(6) : compute) {
            case "float32", "float" -> DType.F32;
            case "bfloat16" -> DType.BF16;
            case "float16", "half" -> DType.F16;
            default -> throw new TesseraException(source + ": quantization_config.bnb_4bit_compute_dtype must be float32, bfloat16"
                    + " or float16, got '" + compute + "'");
        };
        List<String> skip = null;
        JsonNode s = node.get("llm_int8_skip_modules");
        if (s != null && !s.isNull()) {
            if (!s.isArray()) {
                throw new TesseraException(source + ": quantization_config.llm_int8_skip_modules must be a list of module names or null");
            }
            skip = new ArrayList<>();
            for (JsonNode e : s) {
                if (!e.isTextual()) {
                    throw new TesseraException(source + ": quantization_config.llm_int8_skip_modules must hold strings, got " + e);
                }
                skip.add(e.textValue());
            }
        }
        return new BitsAndBytesConfig(type, 64, bool(node, "bnb_4bit_use_double_quant", false, source), computeDtype, skip);
    }

    private static String text(JsonNode node, String key, String absent, String source) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            return absent;
        }
        if (!v.isTextual()) {
            throw new TesseraException(source + ": quantization_config." + key + " must be a string, got " + v);
        }
        return v.textValue();
    }

    private static boolean bool(JsonNode node, String key, boolean absent, String source) {
        JsonNode v = node.get(key);
        if (v == null || v.isNull()) {
            return absent;
        }
        if (!v.isBoolean()) {
            throw new TesseraException(source + ": quantization_config." + key + " must be true or false, got " + v);
        }
        return v.booleanValue();
    }
}
