package dev.tessera.core;

/**
 * Ops that copy elements into new storage of the same shape: a contiguous layout, a clone, a
 * dtype cast, another device. Backward passes the gradient through the inverse conversion.
 */
final class Copies {
    private Copies() {}

    // x (s...) any strides -> (s...) contiguous; a no-op when x already is
    static Tensor contiguous(Tensor x) {
        if (x.isContiguous()) {
            return x;
        }
        return Autograd.record("contiguous", contiguousCopy(x), g -> new Tensor[] {g}, x);
    }

    /** A contiguous copy that is not recorded. */
    static Tensor contiguousCopy(Tensor x) {
        Tensor out = Tensor.empty(x.dtype(), x.device(), x.shape());
        x.backend().copy(x, out);
        return out;
    }

    // x (s...) -> (s...) contiguous, always a new storage (torch's clone)
    static Tensor copy(Tensor x) {
        return Autograd.record("clone", contiguousCopy(x), g -> new Tensor[] {g}, x);
    }

    // x (s...) dtype A -> (s...) dtype B; recorded only between floating dtypes, backward casts g back to A
    static Tensor cast(Tensor x, DType target) {
        DType from = x.dtype();
        if (target == from) {
            return x;
        }
        Tensor out = Tensor.empty(target, x.device(), x.shape());
        x.backend().copy(x, out);
        if (!target.isFloating() || !from.isFloating()) {
            return out;
        }
        return Autograd.record("cast", out, g -> new Tensor[] {g.cast(from)}, x);
    }

    // x (s...) on device A -> (s...) contiguous on device B; backward moves g back to A
    static Tensor to(Tensor x, Device target) {
        if (target.equals(x.device())) {
            return x;
        }
        Tensor src = x.contiguous();
        Tensor out = Tensor.empty(x.dtype(), target, x.shape());
        // Cross-device copies go through the non-CPU backend, which knows both memories.
        Backend b = target.isCpu() ? src.backend() : out.backend();
        b.copy(src, out);
        return Autograd.record("to", out, g -> new Tensor[] {g.to(src.device())}, x);
    }
}
