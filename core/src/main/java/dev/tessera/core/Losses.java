package dev.tessera.core;

/** Fused cross entropy (log-softmax + NLL) with ignore_index. */
final class Losses {
    private Losses() {}

    // logits (N, V) F32, targets (N) I64 -> 0-dim mean over non-ignored rows
    static Tensor crossEntropy(Tensor logits, Tensor targets, long ignoreIndex) {
        if (logits.dim() != 2 || targets.dim() != 1 || targets.size(0) != logits.size(0)) {
            throw new TesseraException("crossEntropy: expected logits [N, V] and targets [N], got "
                    + Shapes.str(logits.shape()) + " and " + Shapes.str(targets.shape()));
        }
        if (targets.dtype() != DType.I64) {
            throw new TesseraException("crossEntropy: targets must be I64, got " + targets.dtype());
        }
        if (logits.dtype() != DType.F32) {
            throw new TesseraException("crossEntropy: logits must be F32, got " + logits.dtype());
        }
        int rows = logits.size(0), n = logits.size(1);
        Tensor x = logits.contiguous();
        Tensor t = targets.contiguous();
        Tensor perRow = Tensor.empty(DType.F32, x.device(), rows);
        Tensor lse = Tensor.empty(DType.F32, x.device(), rows);
        // out-of-range targets are the backend's to report (at once on the CPU, through the error word on a GPU);
        // the mean stays on the device: no id or per-row loss is copied to the host
        x.backend().crossEntropy(x, t, ignoreIndex, perRow, lse, rows, n);
        Tensor labelled;
        Tensor loss;
        try (var ng = Autograd.noGrad()) {
            // ids are below 2^24, so their F32 comparison with the ignore index is exact
            labelled = t.cast(DType.F32).ne(ignoreIndex).cast(DType.F32).sum();
            loss = perRow.sum().div(labelled);   // NaN when every target is ignored, as PyTorch
        }
        return Autograd.record("cross_entropy", loss, g -> {
            Tensor dx = Tensor.empty(DType.F32, x.device(), rows, n);
            if (x.device().isCpu()) {
                // host memory: reading the scalars costs nothing
                x.backend().crossEntropyBackward(x, t, lse, ignoreIndex, g.item() / labelled.item(), dx, rows, n);
                return new Tensor[] {dx, null};
            }
            x.backend().crossEntropyBackward(x, t, lse, ignoreIndex, 1f, dx, rows, n);
            return new Tensor[] {dx.mul(g.div(labelled)), null};
        }, x, t);
    }
}
