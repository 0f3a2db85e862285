package dev.tessera.core;

import dev.tessera.core.Backend.BinaryOp;
import dev.tessera.core.Backend.UnaryOp;

/**
 * In-place updates (optimizer steps, gradient accumulation, filling buffers). They are not
 * recorded, so a leaf that requires grad may be changed only inside {@link Autograd#noGrad()}.
 */
final class InPlace {
    private InPlace() {}

    private static void check(Tensor x, String op) {
        if (Autograd.isGradEnabled() && x.requiresGrad() && x.isLeaf()) {
            throw new TesseraException(op + ": a leaf tensor that requires grad cannot be modified in place outside Autograd.noGrad()");
        }
    }

    // x (s...) <- src broadcast to (s...), converted to x's dtype and device
    static Tensor copyFrom(Tensor x, Tensor src) {
        check(x, "copyFrom");
        Tensor s = Views.expandTo(src, x.shape());
        if (!s.device().equals(x.device())) {
            s = s.contiguous().to(x.device());
        }
        x.backend().copy(s, x);
        return x;
    }

    // x (s...) <- value
    static Tensor fill(Tensor x, double value) {
        check(x, "fill");
        if (x.isContiguous()) {
            x.backend().fill(x, value);
        } else {
            copyFrom(x, Tensor.full(value, x.dtype(), x.device()));
        }
        return x;
    }

    // x (s...) += alpha * other broadcast to (s...)
    static Tensor addInPlace(Tensor x, Tensor other, float alpha) {
        check(x, "addInPlace");
        try (var ng = Autograd.noGrad()) {
            Tensor o = alpha == 1f ? other : other.mul(alpha);
            if (x.isContiguous() && x.dtype() == DType.F32) {
                x.backend().binary(BinaryOp.ADD, x, Views.expandTo(o, x.shape()), x);
            } else {
                copyFrom(x, x.add(o));
            }
        }
        return x;
    }

    // x (s...) *= factor
    static Tensor mulInPlace(Tensor x, float factor) {
        check(x, "mulInPlace");
        try (var ng = Autograd.noGrad()) {
            if (x.isContiguous() && x.dtype() == DType.F32) {
                x.backend().unary(UnaryOp.MUL_SCALAR, x, x, factor, 0);
            } else {
                copyFrom(x, x.mul(factor));
            }
        }
        return x;
    }
}
