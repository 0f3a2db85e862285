package dev.tessera.nn.peft;

import java.util.List;

/**
 * PEFT's {@code IA3Config}: a learned vector per target layer that scales the layer's output
 * (attention targets) or its input (feed-forward targets), initialised to ones so a fresh
 * adapter changes nothing. Null targets mean PEFT's defaults: GPT-2 {@code c_attn, mlp.c_proj}
 * (feed-forward {@code mlp.c_proj}), Llama {@code k_proj, v_proj, down_proj} (feed-forward
 * {@code down_proj}).
 *
 * <pre>{@code
 * PeftModel peft = PeftModel.of(model, Ia3Config.defaults());
 * peft.printTrainableParameters();
 * }</pre>
 *
 * @param targetModules       layers that get a vector; null for the architecture's default
 * @param feedforwardModules  which of them scale their input (names as PEFT matches them: a suffix, or a regex); null for the default
 * @param excludeModules      modules never to target; may be null
 * @param fanInFanOut         the base stores {@code [in, out]} (Conv1D; set for you when it does)
 * @param modulesToSave       modules trained in full and saved with the adapter; may be null
 * @param initIa3Weights      ones (true) or N(0, 1) (false)
 * @param baseModelNameOrPath written into adapter_config.json
 * @param inferenceMode       adapter frozen
 */
public record Ia3Config(
        TargetModules targetModules,
        TargetModules feedforwardModules,
        TargetModules excludeModules,
        boolean fanInFanOut,
        List<String> modulesToSave,
        boolean initIa3Weights,
        String baseModelNameOrPath,
        boolean inferenceMode) implements PeftConfig {

    public Ia3Config {
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
    }

    /** PEFT's defaults: the architecture's targets, vectors of ones. */
    public static Ia3Config defaults() {
        return new Ia3Config(null, null, null, false, null, true, null, false);
    }

    @Override
    public String peftType() {
        return "IA3";
    }

    /** Targets and feed-forward subset by name (exact or suffix). */
    public Ia3Config withTargetModules(List<String> targets, List<String> feedforward) {
        return new Ia3Config(TargetModules.of(targets), TargetModules.of(feedforward),
                excludeModules, fanInFanOut, modulesToSave, initIa3Weights, baseModelNameOrPath, inferenceMode);
    }

    public Ia3Config withModulesToSave(String... v) {
        return new Ia3Config(targetModules, feedforwardModules, excludeModules, fanInFanOut, List.of(v), initIa3Weights, baseModelNameOrPath, inferenceMode);
    }

    public Ia3Config withInitIa3Weights(boolean v) {
        return new Ia3Config(targetModules, feedforwardModules, excludeModules, fanInFanOut, modulesToSave, v, baseModelNameOrPath, inferenceMode);
    }

    public Ia3Config withBaseModelNameOrPath(String v) {
        return new Ia3Config(targetModules, feedforwardModules, excludeModules, fanInFanOut, modulesToSave, initIa3Weights, v, inferenceMode);
    }

    public Ia3Config withInferenceMode(boolean v) {
        return new Ia3Config(targetModules, feedforwardModules, excludeModules, fanInFanOut, modulesToSave, initIa3Weights, baseModelNameOrPath, v);
    }
}
