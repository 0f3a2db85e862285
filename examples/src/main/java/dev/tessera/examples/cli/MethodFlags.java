package dev.tessera.examples.cli;

import static dev.tessera.examples.cli.TrainingFlags.require;

import dev.tessera.core.DType;
import dev.tessera.nn.peft.BottleneckAdapterConfig;
import dev.tessera.nn.peft.Ia3Config;
import dev.tessera.nn.peft.LoraConfig;
import dev.tessera.nn.peft.PeftConfig;
import dev.tessera.nn.peft.PrefixTuningConfig;
import dev.tessera.nn.peft.PromptTuningConfig;
import dev.tessera.quant.BitsAndBytesConfig;
import dev.tessera.quant.QuantType;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import picocli.CommandLine.Option;

/**
 * {@code train}'s choice of method and its settings: LoRA's rank, alpha, dropout and targets
 * (the notebook's defaults r 8, alpha 16, dropout 0.1), virtual tokens, and QLoRA's 4-bit type.
 */
final class MethodFlags {
    @Option(names = "--method", defaultValue = "lora", converter = NamedValues.Methods.class, paramLabel = "full|lora|qlora|ia3|prefix|prompt|adapter",
            description = "What to train: every weight (full), LoRA, QLoRA (4-bit base + LoRA), IA3, prefix or prompt tuning, bottleneck adapters.")
    TrainMethod method;

    @Option(names = "--r", defaultValue = "8", description = "LoRA rank (lora, qlora).")
    int r;

    @Option(names = "--alpha", defaultValue = "16", description = "LoRA alpha; the update is scaled by alpha/r (lora, qlora).")
    double alpha;

    @Option(names = "--dropout", defaultValue = "0.1", description = "Dropout on the LoRA input (lora, qlora).")
    double dropout;

    @Option(names = "--target-modules", split = ",", paramLabel = "a,b", description = "Modules to adapt (lora, qlora, ia3); all-linear allowed. Default: PEFT's per architecture (GPT-2: c_attn).")
    List<String> targetModules;

    @Option(names = "--rslora", description = "Rank-stabilised LoRA scaling alpha/sqrt(r) (lora, qlora).")
    boolean rslora;

    @Option(names = "--num-virtual-tokens", defaultValue = "20", description = "Virtual tokens of prefix and prompt tuning.")
    int numVirtualTokens;

    @Option(names = "--quant", defaultValue = "nf4", converter = NamedValues.QuantTypes.class, paramLabel = "nf4|fp4",
            description = "4-bit data type of the base weights (qlora).")
    QuantType quant;

    @Option(names = "--double-quant", description = "Quantize the 4-bit block scales too (qlora).")
    boolean doubleQuant;

    /** Checks the method's own values, naming the flag. */
    void validate(boolean packing) {
        if (method.lora()) {
            require(r >= 1, "--r must be >= 1 for --method " + method + ", got " + r);
            require(alpha > 0, "--alpha must be > 0, got " + alpha);
            require(dropout >= 0 && dropout < 1, "--dropout must be in [0, 1), got " + dropout);
        }
        if (method.virtualTokens()) {
            require(numVirtualTokens >= 1, "--num-virtual-tokens must be >= 1, got " + numVirtualTokens);
            require(!packing, "--packing: --method " + method + " puts virtual tokens in front of a row, which packed examples "
                    + "cannot share; train without packing");
        }
    }

    /** Warns about the flags given ({@code given} filters to those on the command line) that the method ignores. */
    void warnAboutIgnored(Function<String[], List<String>> given, Consumer<String> warn) {
        if (method != TrainMethod.QLORA) {
            List<String> quantFlags = given.apply(new String[] {"--double-quant", "--quant"});
            if (!quantFlags.isEmpty()) {
                warn.accept(String.join(", ", quantFlags) + " only apply to --method qlora; ignored with --method " + method);
            }
        }
        if (!method.lora()) {
            List<String> loraFlags = new ArrayList<>(given.apply(new String[] {"--r", "--alpha", "--dropout", "--rslora"}));
            if (method != TrainMethod.IA3) {
                loraFlags.addAll(given.apply(new String[] {"--target-modules"}));
            }
            if (!loraFlags.isEmpty()) {
                warn.accept(String.join(", ", loraFlags) + " only apply to --method lora or qlora; ignored with --method " + method);
            }
        }
        if (!method.virtualTokens() && !given.apply(new String[] {"--num-virtual-tokens"}).isEmpty()) {
            warn.accept("--num-virtual-tokens only applies to --method prefix or prompt; ignored with --method " + method);
        }
    }

    /** What a resumed run must share with its checkpoint on the method's side. */
    void describe(Map<String, String> run) {
        run.put("--method", method.toString());
        if (method.lora()) {
            run.put("--r", Integer.toString(r));
            run.put("--target-modules", targetModules == null ? "(default)" : String.join(",", targetModules));
        }
    }

    /** QLoRA's quantization while loading: --quant, --double-quant, blocks of 64. */
    BitsAndBytesConfig bitsAndBytes() {
        return new BitsAndBytesConfig(quant, 64, doubleQuant, DType.F32, null);
    }

    /** The PEFT configuration of a PEFT method (not full fine-tuning). */
    PeftConfig peftConfig(String baseName) {
        return switch (method) {
            case LORA, QLORA -> {
                LoraConfig c = LoraConfig.defaults().withR(r).withLoraAlpha(alpha).withLoraDropout(dropout)
                        .withUseRslora(rslora).withBaseModelNameOrPath(baseName);
                yield targetModules == null ? c : c.withTargetModules(targetModules.toArray(String[]::new));
            }
            case IA3 -> Ia3Config.defaults().withBaseModelNameOrPath(baseName);
            case PREFIX -> PrefixTuningConfig.of(numVirtualTokens).withBaseModelNameOrPath(baseName);
            case PROMPT -> PromptTuningConfig.of(numVirtualTokens).withBaseModelNameOrPath(baseName);
            case ADAPTER -> BottleneckAdapterConfig.defaults().withBaseModelNameOrPath(baseName);
            case FULL -> throw new IllegalStateException("full fine-tuning has no PEFT configuration");
        };
    }
}
