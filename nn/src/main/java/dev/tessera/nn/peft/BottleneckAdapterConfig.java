package dev.tessera.nn.peft;

import dev.tessera.core.TesseraException;
import dev.tessera.nn.Activation;

/**
 * Houlsby bottleneck adapters (Houlsby et al. 2019; AdapterHub's {@code HoulsbyConfig}): after
 * the attention block's output projection and after the MLP's, {@code h + up(act(down(h)))}
 * with {@code down: d -> d / reductionFactor}, {@code up} back to d and starting at zero, so a
 * fresh adapter changes nothing. PEFT has no such method: the folder Tessera writes uses PEFT's
 * layout with {@code peft_type "BOTTLENECK"} and is read back by Tessera only.
 *
 * <pre>{@code
 * PeftModel peft = PeftModel.of(model, BottleneckAdapterConfig.defaults());   // reduction 16, relu
 * }</pre>
 *
 * @param reductionFactor     d / bottleneck size
 * @param nonLinearity        Hugging Face activation name ("relu", "gelu_new", "silu", "tanh")
 * @param targetModules       the projections whose output gets an adapter; null for GPT-2
 *                            {@code attn.c_proj, mlp.c_proj}, Llama {@code o_proj, down_proj}
 * @param baseModelNameOrPath written into adapter_config.json
 * @param inferenceMode       adapter frozen
 */
public record BottleneckAdapterConfig(
        int reductionFactor,
        String nonLinearity,
        TargetModules targetModules,
        String baseModelNameOrPath,
        boolean inferenceMode) implements PeftConfig {

    public BottleneckAdapterConfig {
        if (reductionFactor <= 0) {
            throw new TesseraException("BottleneckAdapterConfig: reduction_factor must be positive, got " + reductionFactor);
        }
        activation(nonLinearity);
    }

    /** The activation named {@code name} (Hugging Face's names). */
    static Activation activation(String name) {
        Activation a = name == null ? null : Activation.fromHfName(name);
        if (a == null) {
            throw new TesseraException("BottleneckAdapterConfig: unsupported non_linearity '" + name
                    + "' (supported: relu, gelu_new, gelu_pytorch_tanh, gelu_fast, silu, swish, tanh)");
        }
        return a;
    }

    /** Houlsby placement, reduction factor 16, ReLU. */
    public static BottleneckAdapterConfig defaults() {
        return new BottleneckAdapterConfig(16, "relu", null, null, false);
    }

    @Override
    public String peftType() {
        return "BOTTLENECK";
    }

    public BottleneckAdapterConfig withReductionFactor(int v) {
        return new BottleneckAdapterConfig(v, nonLinearity, targetModules, baseModelNameOrPath, inferenceMode);
    }

    public BottleneckAdapterConfig withNonLinearity(String v) {
        return new BottleneckAdapterConfig(reductionFactor, v, targetModules, baseModelNameOrPath, inferenceMode);
    }

    public BottleneckAdapterConfig withTargetModules(TargetModules v) {
        return new BottleneckAdapterConfig(reductionFactor, nonLinearity, v, baseModelNameOrPath, inferenceMode);
    }

    public BottleneckAdapterConfig withBaseModelNameOrPath(String v) {
        return new BottleneckAdapterConfig(reductionFactor, nonLinearity, targetModules, v, inferenceMode);
    }

    public BottleneckAdapterConfig withInferenceMode(boolean v) {
        return new BottleneckAdapterConfig(reductionFactor, nonLinearity, targetModules, baseModelNameOrPath, v);
    }
}
