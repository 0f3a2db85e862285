package dev.tessera.nn.peft;

import dev.tessera.core.Autograd;
import dev.tessera.core.Tensor;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * PEFT's {@code get_peft_model_state_dict}: which tensors an adapter saves, under PEFT's keys
 * ({@code base_model.model.<path>.lora_A.weight}, {@code prompt_embeddings}, ...).
 */
final class AdapterState {
    static final String PREFIX = "base_model.model.";
    private static final Set<String> EMBEDDING_LAYER_NAMES = Set.of("embed_tokens", "lm_head");

    private AdapterState() {}

    /** The tensors saved for {@code adapter}; see {@link PeftModel#adapterStateDict}. */
    static Map<String, Tensor> of(PeftModel peft, String adapter) {
        PeftConfig c = peft.config(adapter);
        Map<String, Tensor> out = new LinkedHashMap<>();
        switch (c) {
            case PrefixTuningConfig p -> {
                try (var ng = Autograd.noGrad()) {
                    out.put("prompt_embeddings", peft.prompts().module(adapter, PrefixEncoder.class).table());
                }
            }
            case PromptTuningConfig p -> out.put("prompt_embeddings", peft.prompts().module(adapter, PromptEmbedding.class).weight());
            default -> {
                peft.tunerLayers().forEach((path, t) -> {
                    if (t.adapterNames().contains(adapter)) {
                        t.adapterTensors(adapter).forEach((k, v) -> out.put(PREFIX + path + "." + k, v));
                    }
                });
                if (c instanceof LoraConfig lc) {
                    putLoraExtras(peft, adapter, lc, out);
                }
                putModulesToSave(peft, adapter, c, out);
            }
        }
        return out;
    }

    /** LoRA's trained biases and, for a targeted lm_head / embed_tokens, its base weight. */
    private static void putLoraExtras(PeftModel peft, String adapter, LoraConfig lc, Map<String, Tensor> out) {
        loraBiases(peft, adapter, lc).forEach((k, v) -> out.put(PREFIX + k, v));
        if (targetsEmbeddingLayer(lc.targetModules())) {
            // PEFT's save_embedding_layers="auto": the base weight of a targeted lm_head / embed_tokens goes along
            peft.tunerLayers().forEach((path, t) -> {
                if (t.adapterNames().contains(adapter) && EMBEDDING_LAYER_NAMES.contains(path.substring(path.lastIndexOf('.') + 1))) {
                    out.put(PREFIX + path + ".base_layer.weight", t.baseLayer().weight());
                }
            });
        }
    }

    private static void putModulesToSave(PeftModel peft, String adapter, PeftConfig c, Map<String, Tensor> out) {
        boolean allBiases = c instanceof LoraConfig lc && lc.bias() == LoraConfig.Bias.ALL;
        for (ModulesToSave m : peft.savedModules().of(adapter)) {
            m.trained().namedParameters().forEach((k, v) -> {
                out.put(PREFIX + m.path() + "." + k, v);
                if (allBiases && k.contains("bias")) {
                    // PEFT's bias="all" also picks up the wrapper's inner copies, under these names
                    out.put(PREFIX + m.path() + ".modules_to_save." + k, v);
                    out.put(PREFIX + m.path() + ".original_module." + k, m.originalTensor(k));
                }
            });
        }
    }

    /** Biases LoRA's {@code bias} option trains, by their model names. */
    static Map<String, Tensor> loraBiases(PeftModel peft, String adapter, LoraConfig c) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        switch (c.bias()) {
            case NONE -> {}
            case ALL -> peft.baseModel().namedParameters().forEach((k, v) -> {
                if (k.contains("bias") && !k.contains(".adapter_down.") && !k.contains(".adapter_up.")) {
                    out.put(k, v);
                }
            });
            case LORA_ONLY -> peft.tunerLayers().forEach((path, t) -> {
                if (t instanceof LoraLinear && t.adapterNames().contains(adapter) && t.bias() != null) {
                    out.put(path + ".base_layer.bias", t.bias());
                }
            });
        }
        return out;
    }

    /** PEFT's test: an embedding layer's name is in the target list (or, for a regex, in its text). */
    private static boolean targetsEmbeddingLayer(TargetModules targets) {
        return switch (targets) {
            case TargetModules.Names n -> n.names().stream().anyMatch(EMBEDDING_LAYER_NAMES::contains);
            case TargetModules.Regex r -> EMBEDDING_LAYER_NAMES.stream().anyMatch(r.pattern()::contains);
            case null, default -> false;
        };
    }

    /** The base weight behind {@code base_model.model.<path>.base_layer.weight} of a wrapped layer, or null. */
    static Tensor baseLayerWeight(PeftModel peft, String key) {
        String suffix = ".base_layer.weight";
        if (!key.startsWith(PREFIX) || !key.endsWith(suffix)) {
            return null;
        }
        TunerLayer t = peft.tunerLayers().get(key.substring(PREFIX.length(), key.length() - suffix.length()));
        return t == null ? null : t.baseLayer().weight();
    }
}
