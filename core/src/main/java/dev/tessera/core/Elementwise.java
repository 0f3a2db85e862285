package dev.tessera.core;

import static dev.tessera.core.Autograd.needsGrad;

import dev.tessera.core.Backend.BinaryOp;
import dev.tessera.core.Backend.UnaryOp;

/**
 * Elementwise ops: unary (one kernel pair per {@link UnaryOp}, the derivative supplied by the
 * backend), binary with broadcasting, comparisons, where, dropout. Outputs are contiguous F32
 * (BOOL for comparisons) of the broadcast shape.
 */
final class Elementwise {
    private Elementwise() {}

    // x (s...) F32 -> op(x) (s...); backward: dx = g * op'(x), computed by the backend from the saved x
    static Tensor unary(Tensor input, UnaryOp op, String name, float p1, float p2) {
        input.requireFloat(name);
        Tensor x = input.contiguous();
        Tensor out = Tensor.empty(DType.F32, x.device(), x.shape());
        x.backend().unary(op, x, out, p1, p2);
        return Autograd.record(name, out, g -> {
            Tensor dx = Tensor.empty(DType.F32, g.device(), x.shape());
            x.backend().unaryBackward(op, x, g.contiguous(), dx, p1, p2);
            return new Tensor[] {dx};
        }, x);
    }

    /** Whether {@code op} compares (BOOL result, no gradient) rather than computes (F32 result). */
    static boolean isComparison(BinaryOp op) {
        return switch (op) {
            case ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM -> false;
            case EQ, NE, LT, LE, GT, GE -> true;
        };
    }

    // a (sa...), b (sb...) -> broadcast(sa, sb); F32 for arithmetic, BOOL (not recorded) for comparisons
    static Tensor binary(Tensor a, BinaryOp op, Tensor b) {
        String name = op.name().toLowerCase();
        int[] outShape = Shapes.broadcast(a.shape(), b.shape());
        boolean comparison = isComparison(op);
        if (!comparison) {
            a.requireFloat(name);
            b.requireFloat(name);
        } else if (a.dtype() != b.dtype()) {
            throw new TesseraException(name + ": dtypes differ (" + a.dtype() + " vs " + b.dtype() + ")");
        }
        Tensor out = Tensor.empty(comparison ? DType.BOOL : DType.F32, a.device(), outShape);
        a.backend().binary(op, Views.expandTo(a, outShape), Views.expandTo(b, outShape), out);
        if (comparison) {
            return out;
        }
        return Autograd.record(name, out, g -> binaryBackward(op, a, b, out, g), a, b);
    }

    // g (broadcast shape) -> {da (sa...), db (sb...)}, each summed back over its broadcast dims
    private static Tensor[] binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor g) {
        boolean needA = needsGrad(a), needB = needsGrad(b);
        Tensor ga = null, gb = null;
        switch (op) {
            case ADD -> {
                ga = needA ? g : null;
                gb = needB ? g : null;
            }
            case SUB -> {
                ga = needA ? g : null;
                gb = needB ? g.neg() : null;
            }
            case MUL -> {
                ga = needA ? g.mul(b) : null;
                gb = needB ? g.mul(a) : null;
            }
            case DIV -> {
                ga = needA ? g.div(b) : null;
                gb = needB ? g.mul(out).div(b).neg() : null;
            }
            case POW -> {
                // d/da a^b = b a^(b-1); d/db a^b = a^b ln a
                ga = needA ? g.mul(b).mul(a.pow(b.sub(1f))) : null;
                gb = needB ? g.mul(out).mul(a.log()) : null;
            }
            case MAXIMUM, MINIMUM -> {
                Tensor pickA = op == BinaryOp.MAXIMUM ? a.ge(b) : a.le(b);
                Tensor zero = Tensor.zeros(DType.F32, g.device());
                ga = needA ? where(pickA, g, zero) : null;
                gb = needB ? where(pickA, zero, g) : null;
            }
            case EQ, NE, LT, LE, GT, GE -> throw new IllegalStateException("comparisons are not recorded: " + op);
        }
        return new Tensor[] {ga == null ? null : ga.sumTo(a.shape()), gb == null ? null : gb.sumTo(b.shape())};
    }

    // cond BOOL, a, b F32, any shapes -> broadcast of all three; backward routes g to the side picked
    static Tensor where(Tensor cond, Tensor a, Tensor b) {
        if (cond.dtype() != DType.BOOL) {
            throw new TesseraException("where: condition must be BOOL, got " + cond.dtype());
        }
        a.requireFloat("where");
        b.requireFloat("where");
        int[] outShape = Shapes.broadcast(Shapes.broadcast(cond.shape(), a.shape()), b.shape());
        Tensor out = Tensor.empty(DType.F32, a.device(), outShape);
        a.backend().where(Views.expandTo(cond, outShape), Views.expandTo(a, outShape), Views.expandTo(b, outShape), out);
        return Autograd.record("where", out, g -> {
            Tensor zero = Tensor.zeros(DType.F32, g.device());
            return new Tensor[] {null,
                needsGrad(a) ? where(cond, g, zero).sumTo(a.shape()) : null,
                needsGrad(b) ? where(cond, zero, g).sumTo(b.shape()) : null};
        }, null, a, b);
    }

    // x (s...) -> x * mask, mask (s...) holding 0 (probability p) or 1/(1-p); backward is mul's
    static Tensor dropout(Tensor x, float p, Rng rng) {
        if (p < 0 || p >= 1) {
            if (p == 1) {
                return x.mul(0f);
            }
            throw new TesseraException("dropout probability must be in [0, 1), got " + p);
        }
        if (p == 0) {
            return x;
        }
        Tensor mask = rng.dropoutMask(x.shape(), p, x.device());
        return x.mul(mask);
    }
}
