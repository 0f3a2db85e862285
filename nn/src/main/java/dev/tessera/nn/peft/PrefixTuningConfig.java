package dev.tessera.nn.peft;

import dev.tessera.core.TesseraException;

/**
 * PEFT's {@code PrefixTuningConfig}: {@code numVirtualTokens} trained key/value positions per
 * layer that every token attends to first. With {@code prefixProjection} the prefixes come from
 * a small MLP ({@code Linear(token_dim, encoder_hidden_size) - Tanh - Linear(encoder_hidden_size,
 * layers·2·token_dim)}) over N embeddings, which trains more smoothly; saving keeps only its
 * output, so the MLP is dropped after training. The sizes {@code token_dim} (key/value heads ×
 * head size) and {@code num_layers} come from the model.
 *
 * <pre>{@code
 * PeftModel peft = PeftModel.of(model, PrefixTuningConfig.of(20).withPrefixProjection(true, 512));
 * Tensor loss = peft.loss(ids, labels);   // each layer's attention sees 20 extra positions
 * }</pre>
 *
 * @param numVirtualTokens    prefix length N
 * @param prefixProjection    produce the prefixes with the MLP while training
 * @param encoderHiddenSize   the MLP's hidden size; 0 for token_dim
 * @param baseModelNameOrPath written into adapter_config.json
 * @param inferenceMode       adapter frozen (and stored as the plain prefix table)
 */
public record PrefixTuningConfig(
        int numVirtualTokens,
        boolean prefixProjection,
        int encoderHiddenSize,
        String baseModelNameOrPath,
        boolean inferenceMode) implements PeftConfig {

    public PrefixTuningConfig {
        if (numVirtualTokens <= 0 || encoderHiddenSize < 0) {
            throw new TesseraException("PrefixTuningConfig: num_virtual_tokens must be positive and encoder_hidden_size not negative, got "
                    + numVirtualTokens + " and " + encoderHiddenSize);
        }
    }

    /** N virtual tokens, no projection. */
    public static PrefixTuningConfig of(int numVirtualTokens) {
        return new PrefixTuningConfig(numVirtualTokens, false, 0, null, false);
    }

    @Override
    public String peftType() {
        return "PREFIX_TUNING";
    }

    /** Prefixes made by the reparameterisation MLP of hidden size {@code hidden} (0: token_dim). */
    public PrefixTuningConfig withPrefixProjection(boolean on, int hidden) {
        return new PrefixTuningConfig(numVirtualTokens, on, hidden, baseModelNameOrPath, inferenceMode);
    }

    public PrefixTuningConfig withBaseModelNameOrPath(String v) {
        return new PrefixTuningConfig(numVirtualTokens, prefixProjection, encoderHiddenSize, v, inferenceMode);
    }

    public PrefixTuningConfig withInferenceMode(boolean v) {
        return new PrefixTuningConfig(numVirtualTokens, prefixProjection, encoderHiddenSize, baseModelNameOrPath, v);
    }
}
