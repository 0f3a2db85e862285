package dev.tessera.nn.peft;

import dev.tessera.core.TesseraException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * PEFT's {@code LoraConfig}: the fields, their names and their defaults (r 8, lora_alpha 8,
 * lora_dropout 0, bias "none", init kaiming-uniform A and zero B). {@code targetModules} null
 * means PEFT's default for the architecture: {@code ["c_attn"]} for GPT-2,
 * {@code ["q_proj", "v_proj"]} for the Llama family.
 *
 * <pre>{@code
 * LoraConfig config = LoraConfig.defaults()
 *         .withR(16).withLoraAlpha(32).withLoraDropout(0.05)
 *         .withTargetModules(TargetModules.of("q_proj", "k_proj", "v_proj", "o_proj"))
 *         .withRankPattern(Map.of("o_proj", 4));       // regex on the module name
 * PeftModel peft = PeftModel.of(model, config);
 * }</pre>
 *
 * @param r                   rank of the update {@code B·A}
 * @param loraAlpha           the update is scaled by {@code loraAlpha / r} ({@code / sqrt(r)} with rsLoRA)
 * @param loraDropout         dropout on the adapter's input
 * @param targetModules       which linear layers get an adapter; null for the architecture's default
 * @param excludeModules      names (exact or suffix) or a regex of modules never to target; may be null
 * @param bias                which biases train with the adapter (and are saved with it)
 * @param useRslora           rank-stabilised scaling {@code alpha / sqrt(r)}
 * @param initLoraWeights     how A and B start
 * @param fanInFanOut         the base stores its weight {@code [in, out]} (GPT-2's Conv1D; set for you when it does)
 * @param modulesToSave       modules (exact or suffix names) trained in full and saved with the adapter; may be null
 * @param layersToTransform   only these layer indices get adapters; null for all
 * @param layersPattern       the name of the layer list ({@code "h"}, {@code "layers"}) that layersToTransform indexes; null to take the first numbered segment
 * @param rankPattern         module-name regex to rank, overriding {@code r}
 * @param alphaPattern        module-name regex to alpha, overriding {@code loraAlpha}
 * @param baseModelNameOrPath written into adapter_config.json
 * @param inferenceMode       adapter frozen (as loaded for inference)
 */
public record LoraConfig(
        int r,
        double loraAlpha,
        double loraDropout,
        TargetModules targetModules,
        TargetModules excludeModules,
        Bias bias,
        boolean useRslora,
        LoraInit initLoraWeights,
        boolean fanInFanOut,
        List<String> modulesToSave,
        List<Integer> layersToTransform,
        List<String> layersPattern,
        Map<String, Integer> rankPattern,
        Map<String, Double> alphaPattern,
        String baseModelNameOrPath,
        boolean inferenceMode) implements PeftConfig {

    /** PEFT's {@code bias}: which biases are trainable and saved with the adapter. */
    public enum Bias {
        /** {@code "none"} */
        NONE("none"),
        /** {@code "all"}: every bias of the model */
        ALL("all"),
        /** {@code "lora_only"}: the biases of the layers that carry an adapter */
        LORA_ONLY("lora_only");

        final String json;

        Bias(String json) {
            this.json = json;
        }

        static Bias fromJson(String s) {
            for (Bias b : values()) {
                if (b.json.equals(s)) {
                    return b;
                }
            }
            throw new TesseraException("bias must be \"none\", \"all\" or \"lora_only\", got \"" + s + "\"");
        }
    }

    /** PEFT's {@code init_lora_weights}. */
    public enum LoraInit {
        /** {@code true}: A kaiming-uniform (a = sqrt 5), B zero: a fresh adapter changes nothing. */
        KAIMING_UNIFORM,
        /** {@code "gaussian"}: A ~ N(0, (1/r)²), B zero. */
        GAUSSIAN,
        /** {@code false}: A and B both as nn.Linear's default init (the adapter changes the output at once; for tests). */
        RANDOM
    }

    public LoraConfig {
        if (r <= 0) {
            throw new TesseraException("LoraConfig: r must be positive, got " + r);
        }
        if (!(loraDropout >= 0 && loraDropout < 1)) {
            throw new TesseraException("LoraConfig: lora_dropout must be in [0, 1), got " + loraDropout);
        }
        if (bias == null || initLoraWeights == null) {
            throw new TesseraException("LoraConfig: bias and initLoraWeights must not be null");
        }
        modulesToSave = modulesToSave == null ? null : List.copyOf(modulesToSave);
        layersToTransform = layersToTransform == null ? null : List.copyOf(layersToTransform);
        layersPattern = layersPattern == null ? null : List.copyOf(layersPattern);
        rankPattern = rankPattern == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(rankPattern));
        alphaPattern = alphaPattern == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(alphaPattern));
        for (var e : rankPattern.entrySet()) {
            if (e.getValue() == null || e.getValue() <= 0) {
                throw new TesseraException("LoraConfig: rank_pattern[\"" + e.getKey() + "\"] must be a positive rank, got " + e.getValue());
            }
        }
    }

    /** PEFT's defaults: r 8, alpha 8, no dropout, the architecture's default targets, bias none. */
    public static LoraConfig defaults() {
        return new LoraConfig(8, 8, 0, null, null, Bias.NONE, false, LoraInit.KAIMING_UNIFORM, false, null, null, null,
                Map.of(), Map.of(), null, false);
    }

    @Override
    public String peftType() {
        return "LORA";
    }

    /** The rank for module {@code name}: the first matching rank_pattern entry, else r. */
    public int rankFor(String name) {
        String key = PatternKeys.match(rankPattern.keySet(), name);
        return key == null ? r : rankPattern.get(key);
    }

    /** The alpha for module {@code name}: the first matching alpha_pattern entry, else loraAlpha. */
    public double alphaFor(String name) {
        String key = PatternKeys.match(alphaPattern.keySet(), name);
        return key == null ? loraAlpha : alphaPattern.get(key);
    }

    /** {@code alpha / r}, or {@code alpha / sqrt(r)} with rsLoRA. */
    public static double scaling(double alpha, int r, boolean rslora) {
        return rslora ? alpha / Math.sqrt(r) : alpha / r;
    }

    public LoraConfig withR(int v) {
        return with(f -> f.r = v);
    }

    public LoraConfig withLoraAlpha(double v) {
        return with(f -> f.loraAlpha = v);
    }

    public LoraConfig withLoraDropout(double v) {
        return with(f -> f.loraDropout = v);
    }

    public LoraConfig withTargetModules(TargetModules v) {
        return with(f -> f.targetModules = v);
    }

    /** Targets by exact name or name suffix. */
    public LoraConfig withTargetModules(String... names) {
        return withTargetModules(TargetModules.of(names));
    }

    public LoraConfig withExcludeModules(TargetModules v) {
        return with(f -> f.excludeModules = v);
    }

    public LoraConfig withBias(Bias v) {
        return with(f -> f.bias = v);
    }

    public LoraConfig withUseRslora(boolean v) {
        return with(f -> f.useRslora = v);
    }

    public LoraConfig withInitLoraWeights(LoraInit v) {
        return with(f -> f.initLoraWeights = v);
    }

    public LoraConfig withFanInFanOut(boolean v) {
        return with(f -> f.fanInFanOut = v);
    }

    public LoraConfig withModulesToSave(String... v) {
        return with(f -> f.modulesToSave = List.of(v));
    }

    public LoraConfig withLayersToTransform(Integer... v) {
        return with(f -> f.layersToTransform = List.of(v));
    }

    public LoraConfig withLayersPattern(String... v) {
        return with(f -> f.layersPattern = List.of(v));
    }

    public LoraConfig withRankPattern(Map<String, Integer> v) {
        return with(f -> f.rankPattern = v);
    }

    public LoraConfig withAlphaPattern(Map<String, Double> v) {
        return with(f -> f.alphaPattern = v);
    }

    public LoraConfig withBaseModelNameOrPath(String v) {
        return with(f -> f.baseModelNameOrPath = v);
    }

    public LoraConfig withInferenceMode(boolean v) {
        return with(f -> f.inferenceMode = v);
    }

    /** A copy with {@code change} applied to its fields (checked again by the constructor). */
    private LoraConfig with(Consumer<Fields> change) {
        Fields f = new Fields(this);
        change.accept(f);
        return new LoraConfig(f.r, f.loraAlpha, f.loraDropout, f.targetModules, f.excludeModules, f.bias, f.useRslora,
                f.initLoraWeights, f.fanInFanOut, f.modulesToSave, f.layersToTransform, f.layersPattern, f.rankPattern,
                f.alphaPattern, f.baseModelNameOrPath, f.inferenceMode);
    }

    /** The components of a config, open to change: what a wither edits. */
    private static final class Fields {
        int r;
        double loraAlpha;
        double loraDropout;
        TargetModules targetModules;
        TargetModules excludeModules;
        Bias bias;
        boolean useRslora;
        LoraInit initLoraWeights;
        boolean fanInFanOut;
        List<String> modulesToSave;
        List<Integer> layersToTransform;
        List<String> layersPattern;
        Map<String, Integer> rankPattern;
        Map<String, Double> alphaPattern;
        String baseModelNameOrPath;
        boolean inferenceMode;

        Fields(LoraConfig c) {
            r = c.r;
            loraAlpha = c.loraAlpha;
            loraDropout = c.loraDropout;
            targetModules = c.targetModules;
            excludeModules = c.excludeModules;
            bias = c.bias;
            useRslora = c.useRslora;
            initLoraWeights = c.initLoraWeights;
            fanInFanOut = c.fanInFanOut;
            modulesToSave = c.modulesToSave;
            layersToTransform = c.layersToTransform;
            layersPattern = c.layersPattern;
            rankPattern = c.rankPattern;
            alphaPattern = c.alphaPattern;
            baseModelNameOrPath = c.baseModelNameOrPath;
            inferenceMode = c.inferenceMode;
        }
    }
}
