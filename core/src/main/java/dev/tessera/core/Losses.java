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
        long[] ids = t.toLongArray();
        int count = 0;
        for (long id : ids) {
            if (id != ignoreIndex) {
                if (id < 0 || id >= n) {
                    throw new TesseraException("crossEntropy: target " + id + " out of range for " + n + " classes");
                }
                count++;
            }
        }
        Tensor perRow = Tensor.empty(DType.F32, x.device(), rows);
        Tensor lse = Tensor.empty(DType.F32, x.device(), rows);
        x.backend().crossEntropy(x, t, ignoreIndex, perRow, lse, rows, n);
        float total = 0;
        double sum = 0;
        for (float v : perRow.toFloatArray()) {
            sum += v;
        }
        total = (float) (sum / count); // NaN when every target is ignored, as PyTorch
        Tensor loss = Tensor.full(total, DType.F32, x.device());
        int labelled = count;
        return Tensor.recordResult(loss, "cross_entropy", g -> {
            Tensor dx = Tensor.empty(DType.F32, x.device(), rows, n);
            float scale = g.item() / labelled;
            x.backend().crossEntropyBackward(x, t, lse, ignoreIndex, scale, dx, rows, n);
            return new Tensor[] {dx, null};
        }, x, t);
    }
}
