package dev.tessera.nn;

import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;

/**
 * How a fresh parameter is filled (Hugging Face's {@code _init_weights}): a normal
 * distribution for weights, constants for biases and norm scales.
 */
public sealed interface Init {
    /** N(0, std²). */
    record Normal(float std) implements Init {}

    /** U(-bound, bound). */
    record Uniform(float bound) implements Init {}

    /** Every element {@code value}. */
    record Constant(float value) implements Init {}

    static Init normal(double std) {
        return new Normal((float) std);
    }

    static Init uniform(double bound) {
        return new Uniform((float) bound);
    }

    static Init zeros() {
        return new Constant(0f);
    }

    static Init ones() {
        return new Constant(1f);
    }

    /** A new F32 tensor of {@code shape} filled by this rule, drawing from {@code rng}. */
    default Tensor create(Rng rng, int... shape) {
        return switch (this) {
            case Normal n -> rng.normal(0f, n.std(), shape);
            case Uniform u -> rng.uniform(-u.bound(), u.bound(), shape);
            case Constant c -> Tensor.full(c.value(), DType.F32, Device.CPU, shape);
        };
    }
}
