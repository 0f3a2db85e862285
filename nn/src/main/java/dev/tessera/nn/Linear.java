package dev.tessera.nn;

import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.Arrays;

/**
 * PyTorch's {@code nn.Linear}: weight {@code [out, in]}, optional bias {@code [out]},
 * {@code y = x · Wᵀ + b}. The transposed weight is a view handed to GEMM as a transpose, so
 * nothing is copied.
 *
 * <pre>{@code
 * Linear proj = new Linear(768, 3072, true, new Rng(0));   // PyTorch's default init
 * Tensor y = proj.forward(x);                                // x [B, T, 768] -> [B, T, 3072]
 * }</pre>
 */
public final class Linear extends DenseLinear {
    /** PyTorch's default initialisation: weight and bias U(-1/sqrt(in), 1/sqrt(in)). */
    public Linear(int in, int out, boolean bias, Rng rng) {
        this(ParameterSource.random(rng), in, out, bias, Init.uniform(1 / Math.sqrt(in)), Init.uniform(1 / Math.sqrt(in)));
    }

    /** Weight {@code [out, in]} from {@code source} (filled by {@code weightInit} when fresh), bias zeros. */
    public Linear(ParameterSource source, int in, int out, boolean bias, Init weightInit) {
        this(source, in, out, bias, weightInit, Init.zeros());
    }

    private Linear(ParameterSource source, int in, int out, boolean bias, Init weightInit, Init biasInit) {
        if (in <= 0 || out <= 0) {
            throw new TesseraException("Linear: sizes must be positive, got in=" + in + " out=" + out);
        }
        super(source.tensor("weight", new int[] {out, in}, weightInit), bias ? source.tensor("bias", new int[] {out}, biasInit) : null, true);
    }

    /** Wraps existing tensors (e.g. an output head tied to the embedding): weight {@code [out, in]}, bias {@code [out]} or null. */
    public Linear(Tensor weight, Tensor bias) {
        if (weight.dim() != 2 || (bias != null && !Arrays.equals(bias.shape(), new int[] {weight.size(0)}))) {
            throw new TesseraException("Linear: expected weight [out, in] and bias [out], got " + Arrays.toString(weight.shape())
                    + (bias == null ? "" : " and " + Arrays.toString(bias.shape())));
        }
        super(weight, bias, true);
    }

    @Override
    protected String extraRepr() {
        return super.extraRepr() + ", bias=" + (bias != null);
    }
}
