package dev.tessera.nn;

import dev.tessera.core.Autograd;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.Arrays;

/**
 * A linear layer as one differentiable op: {@code y = x · Wᵀ + b} for a weight stored
 * {@code [out, in]} ({@link Linear}) or {@code y = x · W + b} for one stored {@code [in, out]}
 * ({@link Conv1D}). Compared with {@code x.matmul(w.t()).add(b)} on the tape, the weight
 * gradient comes out in the weight's own layout (no transposed copy when it is accumulated),
 * the bias is added in place, and the tape holds one node instead of four.
 */
final class LinearOp {
    private LinearOp() {}

    // x (..., in), weight (out, in) if outIn else (in, out), bias (out) or null -> (..., out)
    static Tensor forward(Tensor x, Tensor weight, Tensor bias, boolean outIn) {
        int in = outIn ? weight.size(1) : weight.size(0);
        int out = outIn ? weight.size(0) : weight.size(1);
        if (x.dim() == 0 || x.size(-1) != in) {
            throw new TesseraException("linear: input " + Arrays.toString(x.shape()) + " does not fit weight "
                    + Arrays.toString(weight.shape()) + (outIn ? " [out, in]" : " [in, out]"));
        }
        int[] xShape = x.shape();
        int[] outShape = xShape.clone();
        outShape[xShape.length - 1] = out;
        Tensor x2, y;
        try (var ng = Autograd.noGrad()) {
            x2 = x.reshape(-1, in); // (M, in)
            y = x2.matmul(outIn ? weight.t() : weight); // (M, out), transposed weight passed to GEMM as is
            if (bias != null) {
                y.addInPlace(bias, 1f);
            }
            y = y.reshape(outShape);
        }
        Tensor rows = x2;
        return Autograd.record("linear", y, g -> {
            Tensor g2 = g.reshape(-1, out); // (M, out)
            Tensor dx = null, dw = null, db = null;
            if (Autograd.needsGrad(x)) {
                // (M, out) · W as (out, in) -> (M, in)
                dx = g2.matmul(outIn ? weight : weight.t()).reshape(xShape);
            }
            if (Autograd.needsGrad(weight)) {
                // [out, in] = g2ᵀ · x2; [in, out] = x2ᵀ · g2
                dw = outIn ? g2.t().matmul(rows) : rows.t().matmul(g2);
            }
            if (Autograd.needsGrad(bias)) {
                db = g2.sum(0, false);
            }
            return new Tensor[] {dx, dw, db};
        }, x, weight, bias);
    }
}
