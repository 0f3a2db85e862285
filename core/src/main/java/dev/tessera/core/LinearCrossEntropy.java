package dev.tessera.core;

/**
 * Fused linear + cross entropy (Liger's / Unsloth's): the mean cross entropy of
 * {@code logits = x · Wᵀ} computed a chunk of rows at a time, so the {@code [N, V]} logits and
 * their gradient never exist whole. Each row's loss is computed exactly as by
 * {@code x.matmul(w.t()).crossEntropy(targets)}, and the mean is summed in the same order, so the
 * loss is the same number.
 *
 * <p>When a gradient will be wanted (grad mode on and x or W trainable), the forward pass also
 * computes the gradients for an upstream gradient of 1 while each chunk's logits are at hand, and
 * backward only scales them by the upstream gradient. Recomputing the logits in backward instead
 * cost one more pass of the largest matrix product in a language model (a sixth of a GPT-2 LoRA
 * step's FLOPs). The gradients then differ from the unchunked ones by the rounding of that one
 * scaling (relative 1e-7), and are bitwise theirs when the upstream gradient is 1.
 */
final class LinearCrossEntropy {
    /** Logit floats per chunk (16 MiB): a 32k vocabulary gives 131 rows, a 152k one 27 ... */
    static final long CHUNK_FLOATS = 1L << 22;
    /**
     * ... but at least this many rows: every chunk's product packs all of W (V x C, 154 MB for
     * GPT-2's head), and packing is only cheap next to the arithmetic when it is shared by a few
     * hundred rows. With 83-row chunks the head's products spent about as long packing W as
     * multiplying.
     */
    static final int MIN_CHUNK_ROWS = 256;

    private LinearCrossEntropy() {}

    // x (N, C) F32, w (V, C) F32 or frozen BF16/F16, targets (N) I64 -> 0-dim mean over non-ignored rows
    static Tensor forward(Tensor x, Tensor w, Tensor targets, long ignoreIndex, int chunkRows) {
        x.requireFloat("linearCrossEntropy");
        w.requireFloatOrFrozen16("linearCrossEntropy");
        if (x.dim() != 2 || w.dim() != 2 || x.size(1) != w.size(1) || targets.dim() != 1 || targets.size(0) != x.size(0)) {
            throw new TesseraException("linearCrossEntropy: expected x [N, C], weight [V, C] and targets [N], got "
                    + Shapes.str(x.shape()) + ", " + Shapes.str(w.shape()) + " and " + Shapes.str(targets.shape()));
        }
        if (targets.dtype() != DType.I64) {
            throw new TesseraException("linearCrossEntropy: targets must be I64, got " + targets.dtype());
        }
        int rows = x.size(0), c = x.size(1), v = w.size(0);
        int chunk = chunkRows > 0 ? chunkRows
                : (int) Math.max(1, Math.min(rows, Math.max(MIN_CHUNK_ROWS, CHUNK_FLOATS / Math.max(1, v))));
        Tensor xc = x.contiguous();
        Tensor t = targets.contiguous();
        // On the CPU the targets are checked and counted here. On a device they stay there: the
        // backend reports an out-of-range target through its error word, the count and the mean
        // are device tensors, and the gradients are divided by the count once at the end.
        boolean onHost = x.device().isCpu();
        int count = onHost ? labelledTargets(t, ignoreIndex, v) : 0;
        Tensor labelled = null;
        if (!onHost) {
            try (var ng = Autograd.noGrad()) {
                // ids are below 2^24, so their F32 comparison with the ignore index is exact
                labelled = t.cast(DType.F32).ne(ignoreIndex).cast(DType.F32).sum();
            }
        }
        boolean wantDx = Autograd.isGradEnabled() && x.requiresGrad();
        boolean wantDw = Autograd.isGradEnabled() && w.requiresGrad();
        // gradients for an upstream gradient of 1, unowned by the chunk scopes (the node owns them)
        Tensor dx = wantDx ? Tensor.empty(DType.F32, x.device(), rows, c) : null;
        Tensor dw = wantDw ? Tensor.empty(DType.F32, x.device(), v, c) : null;
        Tensor wc = dx == null ? null : w.dtype() == DType.F32 || w.device().isCpu() ? w.contiguous() : w.cast(DType.F32);
        float scale = onHost ? 1f / count : 1f;
        Tensor perRow = Tensor.empty(DType.F32, x.device(), rows);
        Tensor lse = Tensor.empty(DType.F32, x.device(), rows);
        Tensor wt = w.t();
        try (var ng = Autograd.noGrad()) {
            for (int r0 = 0; r0 < rows; r0 += chunk) {
                int rc = Math.min(chunk, rows - r0);
                try (var scope = Scope.open()) {
                    Tensor xr = xc.narrow(0, r0, rc);
                    Tensor tr = t.narrow(0, r0, rc);
                    Tensor logits = Matmul.gemm2d(xr, wt); // (rc, V)
                    x.backend().crossEntropy(logits, tr, ignoreIndex, perRow.narrow(0, r0, rc), lse.narrow(0, r0, rc), rc, v);
                    if (dx != null || dw != null) {
                        Tensor dlogits = Tensor.empty(DType.F32, x.device(), rc, v);
                        x.backend().crossEntropyBackward(logits, tr, lse.narrow(0, r0, rc), ignoreIndex, scale, dlogits, rc, v);
                        if (dx != null) {
                            // dx rows (rc, C) = dlogits (rc, V) · W (V, C)
                            x.backend().gemm(false, false, 1, rc, c, v, dlogits, v, 0, wc, c, 0, 0f, dx.narrow(0, r0, rc), c, 0);
                        }
                        if (dw != null) {
                            // dW (V, C) += dlogitsᵀ (V, rc) · x rows (rc, C)
                            x.backend().gemm(true, false, 1, v, c, rc, dlogits, v, 0, xr, c, 0, r0 == 0 ? 0f : 1f, dw, c, 0);
                        }
                    }
                }
            }
        }
        if (!onHost) {
            Tensor perCount = labelled;
            Tensor loss;
            try (var ng = Autograd.noGrad()) {
                loss = perRow.sum().div(perCount); // NaN when all are ignored, as PyTorch
            }
            return Autograd.record("linear_cross_entropy", loss, g -> {
                Tensor factor = g.div(perCount);
                Tensor gx = Autograd.needsGrad(xc) ? dx.mul(factor) : null;
                Tensor gw = Autograd.needsGrad(w) ? dw.mul(factor) : null;
                return new Tensor[] {gx, gw, null};
            }, xc, w, t);
        }
        double sum = 0;
        for (float f : perRow.toFloatArray()) {
            sum += f;
        }
        Tensor loss = Tensor.full((float) (sum / count), DType.F32, x.device()); // NaN when all are ignored, as PyTorch
        return Autograd.record("linear_cross_entropy", loss, g -> {
            float upstream = g.item();
            Tensor gx = Autograd.needsGrad(xc) ? scaled(dx, upstream) : null;
            Tensor gw = Autograd.needsGrad(w) ? scaled(dw, upstream) : null;
            return new Tensor[] {gx, gw, null};
        }, xc, w, t);
    }

    /** The targets that are not ignored, each checked to be a class (host memory only). */
    private static int labelledTargets(Tensor targets, long ignoreIndex, int classes) {
        int count = 0;
        for (long id : targets.toLongArray()) {
            if (id != ignoreIndex) {
                if (id < 0 || id >= classes) {
                    throw new TesseraException("linearCrossEntropy: target " + id + " out of range for " + classes + " classes");
                }
                count++;
            }
        }
        return count;
    }

    /** The precomputed gradient times the upstream gradient (itself when that is 1). */
    private static Tensor scaled(Tensor gradient, float upstream) {
        return upstream == 1f ? gradient : gradient.mul(upstream);
    }
}
