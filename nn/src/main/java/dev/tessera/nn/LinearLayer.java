package dev.tessera.nn;

import dev.tessera.core.Autograd;
import dev.tessera.core.Tensor;

/**
 * The linear contract: {@code y = x · Wᵀ + b} mapping {@code [..., in]} to {@code [..., out]}.
 * {@link Linear}, GPT-2's {@link Conv1D}, LoRA wrappers and 4-bit layers implement it, so
 * adapters and quantization find and wrap any linear layer the same way. Implementations are
 * {@link Module}s (their parameters keep Hugging Face's names).
 *
 * <pre>{@code
 * for (var e : model.namedModules().entrySet()) {
 *     if (e.getValue() instanceof LinearLayer lin) {
 *         System.out.println(e.getKey() + " " + lin.inFeatures() + " -> " + lin.outFeatures());
 *     }
 * }
 * }</pre>
 */
public interface LinearLayer {
    /** {@code x [..., inFeatures]} to {@code [..., outFeatures]}. */
    Tensor forward(Tensor x);

    int inFeatures();

    int outFeatures();

    /**
     * The weight in the {@code [out, in]} sense, whatever the storage layout: a view for
     * {@link Conv1D} (stored {@code [in, out]}); a dequantized copy for quantized layers.
     */
    Tensor weight();

    /** The bias {@code [out]}, or null. */
    Tensor bias();

    /**
     * How many model values {@code parameter}, one of this layer's own parameters, holds: what
     * PEFT's {@code get_nb_trainable_parameters} counts. Its elements, unless the layer stores
     * values packed: a 4-bit layer's U8 weight holds two per byte and says so here.
     */
    default long valueCount(Tensor parameter) {
        return parameter.numel();
    }

    /**
     * Adds {@code deltaOutIn [out, in]} to the weight in place, whatever its storage layout:
     * LoRA and IA3 merge and unmerge through this. The default writes through {@link #weight()},
     * which is right when that is the stored tensor or a view of it ({@link Linear},
     * {@link Conv1D}); a layer whose {@code weight()} is a copy (quantized layers) overrides it,
     * e.g. dequantize, add, requantize.
     */
    default void addToWeight(Tensor deltaOutIn) {
        try (var ng = Autograd.noGrad()) {
            weight().addInPlace(deltaOutIn, 1f);
        }
    }
}
