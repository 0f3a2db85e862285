package dev.tessera.nn.peft;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.io.Json;
import dev.tessera.nn.models.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code adapter_config.json} as PEFT 0.21 writes it (every key PEFT writes for the method, so
 * the file reads the same to PEFT), and back. Options Tessera does not implement (DoRA, LoRA
 * biases, layer replication, ...) are refused with the key named.
 */
final class AdapterConfigJson {
    private AdapterConfigJson() {}

    // ---------------------------------------------------------------- writing

    static Map<String, Object> toJson(PeftConfig config, ModelConfig model) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("auto_mapping", null);
        m.put("base_model_name_or_path", config.baseModelNameOrPath());
        m.put("inference_mode", true);
        m.put("peft_type", config.peftType());
        m.put("revision", null);
        m.put("task_type", "CAUSAL_LM");
        switch (config) {
            case LoraConfig c -> lora(m, c);
            case Ia3Config c -> {
                m.put("exclude_modules", targets(c.excludeModules()));
                m.put("fan_in_fan_out", c.fanInFanOut());
                m.put("feedforward_modules", targets(c.feedforwardModules()));
                m.put("init_ia3_weights", c.initIa3Weights());
                m.put("modules_to_save", c.modulesToSave());
                m.put("target_modules", targets(c.targetModules()));
            }
            case PrefixTuningConfig c -> {
                int tokenDim = model.numKvHeads() * model.headDim();
                m.put("encoder_hidden_size", c.encoderHiddenSize() == 0 ? tokenDim : c.encoderHiddenSize());
                m.put("init_weights", null);
                m.put("modules_to_save", null);
                m.put("num_attention_heads", model.numKvHeads());
                m.put("num_layers", model.numLayers());
                m.put("num_transformer_submodules", 1);
                m.put("num_virtual_tokens", c.numVirtualTokens());
                m.put("prefix_projection", c.prefixProjection());
                m.put("token_dim", tokenDim);
            }
            case PromptTuningConfig c -> {
                m.put("modules_to_save", null);
                m.put("num_attention_heads", model.numHeads());
                m.put("num_layers", model.numLayers());
                m.put("num_transformer_submodules", 1);
                m.put("num_virtual_tokens", c.numVirtualTokens());
                m.put("prompt_tuning_init", c.promptTuningInit().name());
                m.put("prompt_tuning_init_text", c.promptTuningInitText());
                m.put("token_dim", model.hiddenSize());
                m.put("tokenizer_kwargs", null);
                // PEFT refuses TEXT init without a tokenizer, even when it will not use it; the base model's folder usually has it
                m.put("tokenizer_name_or_path", c.tokenizerNameOrPath() == null && c.promptTuningInit() == PromptTuningConfig.Init.TEXT
                        ? c.baseModelNameOrPath() : c.tokenizerNameOrPath());
            }
            case BottleneckAdapterConfig c -> {
                m.remove("auto_mapping");
                m.remove("revision");
                m.put("non_linearity", c.nonLinearity());
                m.put("reduction_factor", c.reductionFactor());
                m.put("target_modules", targets(c.targetModules()));
            }
        }
        return m;
    }

    private static void lora(Map<String, Object> m, LoraConfig c) {
        m.put("alora_invocation_tokens", null);
        Map<String, Object> alphas = new LinkedHashMap<>();
        c.alphaPattern().forEach((k, v) -> alphas.put(k, number(v)));
        m.put("alpha_pattern", alphas);
        m.put("arrow_config", null);
        m.put("bias", c.bias().json);
        m.put("corda_config", null);
        m.put("ensure_weight_tying", false);
        m.put("eva_config", null);
        m.put("exclude_modules", targets(c.excludeModules()));
        m.put("fan_in_fan_out", c.fanInFanOut());
        m.put("init_lora_weights", switch (c.initLoraWeights()) {
            case KAIMING_UNIFORM -> true;
            case GAUSSIAN -> "gaussian";
            case RANDOM -> false;
        });
        m.put("kasa_config", null);
        m.put("layer_replication", null);
        m.put("layers_pattern", c.layersPattern());
        m.put("layers_to_transform", c.layersToTransform());
        m.put("loftq_config", Map.of());
        m.put("lora_alpha", number(c.loraAlpha()));
        m.put("lora_bias", false);
        m.put("lora_dropout", c.loraDropout());
        m.put("lora_ga_config", null);
        m.put("megatron_config", null);
        m.put("megatron_core", "megatron.core");
        m.put("modules_to_save", c.modulesToSave());
        m.put("monteclora_config", null);
        m.put("qalora_group_size", 16);
        m.put("r", c.r());
        m.put("rank_pattern", new LinkedHashMap<>(c.rankPattern()));
        m.put("target_modules", targets(c.targetModules()));
        m.put("target_parameters", null);
        m.put("trainable_token_indices", null);
        m.put("use_bdlora", null);
        m.put("use_dora", false);
        m.put("use_qalora", false);
        m.put("use_rslora", c.useRslora());
        m.put("velora_config", null);
    }

    /** An int when integral (PEFT's lora_alpha is an int), else the float. */
    private static Object number(double v) {
        return v == Math.rint(v) && Math.abs(v) < Integer.MAX_VALUE ? (Object) (int) v : (Object) v;
    }

    private static Object targets(TargetModules t) {
        return switch (t) {
            case null -> null;
            case TargetModules.Names n -> n.names();
            case TargetModules.Regex r -> r.pattern();
            case TargetModules.AllLinear a -> "all-linear";
        };
    }

    // ---------------------------------------------------------------- reading

    /** The config in {@code file}, marked for inference or training. */
    static PeftConfig read(Path file, boolean inferenceMode) {
        JsonNode n = Json.readObject(file);
        String type = text(n, "peft_type", file);
        if (type == null) {
            throw new TesseraException(file + ": no peft_type");
        }
        String task = text(n, "task_type", file);
        if (task != null && !task.equals("CAUSAL_LM")) {
            throw new TesseraException(file + ": task_type " + task + " is not supported (Tessera adapts causal language models: CAUSAL_LM)");
        }
        String base = text(n, "base_model_name_or_path", file);
        return switch (type) {
            case "LORA" -> readLora(n, file, base, inferenceMode);
            case "IA3" -> new Ia3Config(targetsOf(n, "target_modules", file), targetsOf(n, "feedforward_modules", file),
                    targetsOf(n, "exclude_modules", file), bool(n, "fan_in_fan_out", false, file), strings(n, "modules_to_save", file),
                    bool(n, "init_ia3_weights", true, file), base, inferenceMode);
            case "PREFIX_TUNING" -> {
                submodules(n, file);
                yield new PrefixTuningConfig(integer(n, "num_virtual_tokens", 0, file), bool(n, "prefix_projection", false, file),
                        integer(n, "encoder_hidden_size", 0, file), base, inferenceMode);
            }
            case "PROMPT_TUNING" -> {
                submodules(n, file);
                String init = text(n, "prompt_tuning_init", file);
                PromptTuningConfig.Init kind;
                try {
                    kind = init == null ? PromptTuningConfig.Init.RANDOM : PromptTuningConfig.Init.valueOf(init);
                } catch (IllegalArgumentException e) {
                    throw new TesseraException(file + ": prompt_tuning_init must be RANDOM, TEXT or SAMPLE_VOCAB, got " + init);
                }
                yield new PromptTuningConfig(integer(n, "num_virtual_tokens", 0, file), kind, text(n, "prompt_tuning_init_text", file), null,
                        text(n, "tokenizer_name_or_path", file), base, inferenceMode);
            }
            case "BOTTLENECK" -> new BottleneckAdapterConfig(integer(n, "reduction_factor", 16, file),
                    text(n, "non_linearity", file) == null ? "relu" : text(n, "non_linearity", file), targetsOf(n, "target_modules", file), base,
                    inferenceMode);
            default -> throw new TesseraException(file + ": peft_type " + type
                    + " is not supported (Tessera reads LORA, IA3, PREFIX_TUNING, PROMPT_TUNING and its own BOTTLENECK)");
        };
    }

    /** Expected vs the model's sizes is checked when the adapter is built; only one stack of prefixes is meaningful for decoders. */
    private static void submodules(JsonNode n, Path file) {
        int subs = integer(n, "num_transformer_submodules", 1, file);
        if (subs != 1) {
            throw new TesseraException(file + ": num_transformer_submodules " + subs + " is for encoder-decoder models; expected 1");
        }
    }

    private static LoraConfig readLora(JsonNode n, Path file, String base, boolean inferenceMode) {
        refuse(n, file, "use_dora", true);
        refuse(n, file, "lora_bias", true);
        refuse(n, file, "use_qalora", true);
        for (String k : List.of("layer_replication", "trainable_token_indices", "target_parameters", "alora_invocation_tokens", "megatron_config")) {
            if (n.hasNonNull(k) && !(n.get(k).isContainerNode() && n.get(k).isEmpty())) {
                throw new TesseraException(file + ": " + k + " is not supported by Tessera");
            }
        }
        JsonNode init = n.get("init_lora_weights");
        LoraConfig.LoraInit loraInit;
        if (init == null || init.isNull() || (init.isBoolean() && init.booleanValue())) {
            loraInit = LoraConfig.LoraInit.KAIMING_UNIFORM;
        } else if (init.isBoolean()) {
            loraInit = LoraConfig.LoraInit.RANDOM;
        } else if (init.isTextual() && init.textValue().equals("gaussian")) {
            loraInit = LoraConfig.LoraInit.GAUSSIAN;
        } else {
            throw new TesseraException(file + ": init_lora_weights " + init + " is not supported (true, false or \"gaussian\")");
        }
        Map<String, Integer> ranks = new LinkedHashMap<>();
        object(n, "rank_pattern", file).forEach((k, v) -> {
            if (!v.canConvertToInt()) {
                throw new TesseraException(file + ": rank_pattern[\"" + k + "\"] must be an integer, got " + v);
            }
            ranks.put(k, v.intValue());
        });
        Map<String, Double> alphas = new LinkedHashMap<>();
        object(n, "alpha_pattern", file).forEach((k, v) -> {
            if (!v.isNumber()) {
                throw new TesseraException(file + ": alpha_pattern[\"" + k + "\"] must be a number, got " + v);
            }
            alphas.put(k, v.doubleValue());
        });
        List<Integer> layers = null;
        JsonNode lt = n.get("layers_to_transform");
        if (lt != null && lt.isInt()) {
            layers = List.of(lt.intValue());
        } else if (lt != null && lt.isArray()) {
            layers = new ArrayList<>();
            for (JsonNode x : lt) {
                layers.add(x.intValue());
            }
        }
        JsonNode lp = n.get("layers_pattern");
        List<String> pattern = lp != null && lp.isTextual() ? List.of(lp.textValue()) : strings(n, "layers_pattern", file);
        String bias = text(n, "bias", file);
        TargetModules targets = targetsOf(n, "target_modules", file);
        return new LoraConfig(integer(n, "r", 8, file), number(n, "lora_alpha", 8, file), number(n, "lora_dropout", 0, file), targets,
                targetsOf(n, "exclude_modules", file), LoraConfig.Bias.fromJson(bias == null ? "none" : bias), bool(n, "use_rslora", false, file),
                loraInit, bool(n, "fan_in_fan_out", false, file), strings(n, "modules_to_save", file), layers, pattern, ranks, alphas, base,
                inferenceMode);
    }

    private static void refuse(JsonNode n, Path file, String key, boolean value) {
        if (n.has(key) && n.get(key).isBoolean() && n.get(key).booleanValue() == value) {
            throw new TesseraException(file + ": " + key + "=" + value + " is not supported by Tessera");
        }
    }

    private static TargetModules targetsOf(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (v.isTextual()) {
            return v.textValue().equals("all-linear") ? TargetModules.allLinear() : TargetModules.regex(v.textValue());
        }
        return TargetModules.of(strings(n, key, file));
    }

    private static String text(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw new TesseraException(file + ": " + key + " must be a string, got " + v);
        }
        return v.textValue();
    }

    private static boolean bool(JsonNode n, String key, boolean dflt, Path file) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isBoolean()) {
            throw new TesseraException(file + ": " + key + " must be true or false, got " + v);
        }
        return v.booleanValue();
    }

    private static int integer(JsonNode n, String key, int dflt, Path file) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw new TesseraException(file + ": " + key + " must be an integer, got " + v);
        }
        return v.intValue();
    }

    private static double number(JsonNode n, String key, double dflt, Path file) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (!v.isNumber()) {
            throw new TesseraException(file + ": " + key + " must be a number, got " + v);
        }
        return v.doubleValue();
    }

    private static List<String> strings(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray()) {
            throw new TesseraException(file + ": " + key + " must be a list of strings, got " + v);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode x : v) {
            if (!x.isTextual()) {
                throw new TesseraException(file + ": " + key + " must be a list of strings, got " + v);
            }
            out.add(x.textValue());
        }
        return out;
    }

    private static Map<String, JsonNode> object(JsonNode n, String key, Path file) {
        JsonNode v = n.get(key);
        Map<String, JsonNode> out = new LinkedHashMap<>();
        if (v == null || v.isNull()) {
            return out;
        }
        if (!v.isObject()) {
            throw new TesseraException(file + ": " + key + " must be an object, got " + v);
        }
        v.properties().forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }
}
