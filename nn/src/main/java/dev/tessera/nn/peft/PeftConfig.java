package dev.tessera.nn.peft;

/**
 * The configuration of one adapter: which PEFT method and its settings. Each method has its own
 * record, named as PEFT names it; {@link PeftModel} takes any of them.
 *
 * <pre>{@code
 * PeftConfig config = LoraConfig.defaults().withR(16).withLoraAlpha(32);
 * PeftModel peft = PeftModel.of(model, config);
 * System.out.println(config.peftType());   // LORA
 * }</pre>
 */
public sealed interface PeftConfig permits LoraConfig, Ia3Config, PrefixTuningConfig, PromptTuningConfig, BottleneckAdapterConfig {
    /** PEFT's {@code peft_type}: {@code LORA}, {@code IA3}, {@code PREFIX_TUNING}, {@code PROMPT_TUNING}, or Tessera's {@code BOTTLENECK}. */
    String peftType();

    /** Whether the adapter is loaded for inference only (its parameters frozen). */
    boolean inferenceMode();

    /** {@code base_model_name_or_path} written into {@code adapter_config.json} (may be null). */
    String baseModelNameOrPath();
}
