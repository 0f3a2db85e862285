package dev.tessera.nn;

import dev.tessera.core.Tensor;

/** Elementwise activations by their Hugging Face names ({@code hidden_act}, {@code activation_function}). */
public enum Activation {
    /** GELU, tanh approximation: {@code gelu_new}, {@code gelu_pytorch_tanh}, {@code gelu_fast}. */
    GELU_TANH,
    /** {@code silu} / {@code swish}: x · sigmoid(x). */
    SILU,
    RELU,
    TANH;

    public Tensor apply(Tensor x) {
        return switch (this) {
            case GELU_TANH -> x.gelu();
            case SILU -> x.silu();
            case RELU -> x.relu();
            case TANH -> x.tanh();
        };
    }

    /** The activation for a Hugging Face name, or null when Tessera has none. */
    public static Activation fromHfName(String name) {
        return switch (name) {
            case "gelu_new", "gelu_pytorch_tanh", "gelu_fast" -> GELU_TANH;
            case "silu", "swish" -> SILU;
            case "relu" -> RELU;
            case "tanh" -> TANH;
            default -> null;
        };
    }
}
