package dev.tessera.core;

import dev.tessera.core.Backend.ReduceOp;
import java.util.Arrays;

/**
 * Reductions over one dimension (sum, max, min, argmax) and the sums built from them. The
 * backend reduces a contiguous x viewed as [outer, n, inner] over n; sum's backward broadcasts g
 * back, max/min's sends it to the positions holding the extreme value.
 */
final class Reductions {
    private Reductions() {}

    // x (s...) -> 0-dim
    static Tensor sum(Tensor x) {
        Tensor flat = x.reshape(-1);
        return flat.sum(0, false);
    }

    static Tensor sum(Tensor x, int dim, boolean keepDim) {
        return reduceDim(x, ReduceOp.SUM, dim, keepDim);
    }

    static Tensor max(Tensor x, int dim, boolean keepDim) {
        return reduceDim(x, ReduceOp.MAX, dim, keepDim);
    }

    static Tensor min(Tensor x, int dim, boolean keepDim) {
        return reduceDim(x, ReduceOp.MIN, dim, keepDim);
    }

    static Tensor argmax(Tensor x, int dim, boolean keepDim) {
        return reduceDim(x, ReduceOp.ARGMAX, dim, keepDim);
    }

    // x (outer..., n, inner...) -> (outer..., 1, inner...) with keepDim, else (outer..., inner...); F32, I64 for ARGMAX
    private static Tensor reduceDim(Tensor input, ReduceOp op, int dim, boolean keepDim) {
        String name = op.name().toLowerCase();
        input.requireFloat(name);
        int[] shape = input.shape();
        int d = Shapes.axis(dim, Math.max(shape.length, 1));
        if (shape.length == 0) {
            return input;
        }
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) {
            outer *= shape[i];
        }
        for (int i = d + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        int n = shape[d];
        if (n == 0 && op != ReduceOp.SUM) {
            throw new TesseraException(name + " over an empty dimension of shape " + Shapes.str(shape));
        }
        int[] kept = shape.clone();
        kept[d] = 1;
        Tensor x = input.contiguous();
        Tensor out = Tensor.empty(op == ReduceOp.ARGMAX ? DType.I64 : DType.F32, x.device(), kept);
        x.backend().reduce(op, x, outer, n, inner, out);
        Tensor result = switch (op) {
            case SUM -> Autograd.record(name, out, g -> new Tensor[] {g.expand(shape)}, x);
            case MAX, MIN -> Autograd.record(name, out, g -> {
                // gradient flows to the positions equal to the extreme value (ties share it, as torch.amax)
                Tensor hit = x.eq(out.detach().expand(shape));
                Tensor count = Tensor.where(hit, Tensor.ones(), Tensor.zeros()).sum(d, true);
                return new Tensor[] {Tensor.where(hit, g.div(count).expand(shape), Tensor.zeros())};
            }, x);
            case ARGMAX -> out;   // an index has no gradient
        };
        return keepDim ? result : result.squeeze(d);
    }

    // x (s...) -> sum over dims (each once, any order given)
    static Tensor sum(Tensor x, int[] dims, boolean keepDim) {
        int[] sorted = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            sorted[i] = Shapes.axis(dims[i], x.dim());
        }
        Arrays.sort(sorted);
        Tensor t = x;
        for (int i = sorted.length - 1; i >= 0; i--) {
            t = t.sum(sorted[i], keepDim);
        }
        return t;
    }

    /** g (broadcast of target) -> target: sums the leading dims broadcasting added and the dims of size 1 it expanded. */
    static Tensor sumTo(Tensor g, int[] target) {
        int[] shape = g.shape();
        if (Arrays.equals(shape, target)) {
            return g;
        }
        Tensor t = g;
        int lead = shape.length - target.length;
        for (int i = 0; i < lead; i++) {
            t = t.sum(0, false);
        }
        for (int i = 0; i < target.length; i++) {
            if (target[i] == 1 && t.size(i) != 1) {
                t = t.sum(i, true);
            }
        }
        return t;
    }
}
