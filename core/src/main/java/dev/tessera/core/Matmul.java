package dev.tessera.core;

import java.util.Arrays;

/** matmul forward/backward: maps strided operands onto the backend's batched row-major GEMM. */
final class Matmul {
    private Matmul() {}

    /**
     * a [..., m, k] · b [..., k, n] → [..., m, n] with PyTorch's rules: a 1-D a is [1, k] and a
     * 1-D b is [k, 1], the added dim dropped from the result; under {@link Autocast} the operands
     * and the result are rounded to its dtype.
     */
    static Tensor matmul(Tensor a, Tensor b) {
        a.requireFloat("matmul");
        b.requireFloatOrFrozen16("matmul");
        if (a.dim() == 0 || b.dim() == 0) {
            throw new TesseraException("matmul: both operands need at least one dimension, got "
                    + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()));
        }
        if (a.dim() == 1) {
            // with a 1-D b too, b's added dim is already dropped: the result is [1] -> 0-dim
            return matmul(a.unsqueeze(0), b).squeeze(b.dim() == 1 ? -1 : -2);
        }
        if (b.dim() == 1) {
            return matmul(a, b.unsqueeze(1)).squeeze(-1);
        }
        if (Autocast.current() != null) {
            Tensor b16 = b.dtype() == Autocast.current() ? b : Autocast.round(b);
            return Autocast.round(forward(Autocast.round(a), b16));
        }
        return forward(a, b);
    }

    /** a [..., m, k] · b [..., k, n] → [..., m, n]; both at least 2-D. */
    static Tensor forward(Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        int m = as[as.length - 2], k = as[as.length - 1];
        int n = bs[bs.length - 1];
        if (bs[bs.length - 2] != k) {
            throw new TesseraException("matmul: shapes " + Shapes.str(as) + " and " + Shapes.str(bs) + " cannot be multiplied ("
                    + k + " != " + bs[bs.length - 2] + ")");
        }
        int[] batch = Shapes.broadcast(Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2));
        int[] outShape = Arrays.copyOf(batch, batch.length + 2);
        outShape[batch.length] = m;
        outShape[batch.length + 1] = n;
        Tensor out;
        try (var ng = Autograd.noGrad()) {
            if (bs.length == 2) {
                // [..., m, k] · [k, n]: fold the batch into the rows, one GEMM.
                out = gemm2d(a.reshape(-1, k), b).reshape(outShape);
            } else {
                out = batched(a, b, batch, m, n, k, outShape);
            }
        }
        return Autograd.record("matmul", out, g -> {
            Tensor ga = null, gb = null;
            if (Autograd.needsGrad(a)) {
                // dA = dC · Bᵀ
                ga = g.matmul(b.transpose(-1, -2)).sumTo(as);
            }
            if (Autograd.needsGrad(b)) {
                // dB = Aᵀ · dC, summed over the batch
                gb = bs.length == 2
                        ? a.reshape(-1, k).t().matmul(g.reshape(-1, n))
                        : a.transpose(-1, -2).matmul(g).sumTo(bs);
            }
            return new Tensor[] {ga, gb};
        }, a, b);
    }

    /** C [M, N] = A [M, K] · B [K, N] for 2-D operands of any strides. */
    static Tensor gemm2d(Tensor a, Tensor b) {
        int m = a.size(0), k = a.size(1), n = b.size(1);
        b = widenOffCpu(b);
        long[] la = layout(a);
        if (la == null) {
            a = a.contiguous();
            la = layout(a);
        }
        long[] lb = layout(b);
        if (lb == null) {
            b = b.contiguous();
            lb = layout(b);
        }
        Tensor c = Tensor.empty(DType.F32, a.device(), m, n);
        OpStats.GEMM_CALLS.incrementAndGet();
        a.backend().gemm(la[0] == 1, lb[0] == 1, 1, m, n, k, a, la[1], 0, b, lb[1], 0, 0f, c, n, 0);
        return c;
    }

    private static Tensor batched(Tensor a, Tensor b, int[] batch, int m, int n, int k, int[] outShape) {
        int nb = batch.length;
        int[] aTarget = Arrays.copyOf(batch, nb + 2);
        aTarget[nb] = m;
        aTarget[nb + 1] = k;
        int[] bTarget = Arrays.copyOf(batch, nb + 2);
        bTarget[nb] = k;
        bTarget[nb + 1] = n;
        Tensor ea = a.expand(aTarget), eb = widenOffCpu(b).expand(bTarget);
        long sa = batchStride(ea, nb);
        long[] la = layout(last2(ea));
        if (sa < 0 || la == null) {
            ea = ea.contiguous();
            sa = batchStride(ea, nb);
            la = layout(last2(ea));
        }
        long sb = batchStride(eb, nb);
        long[] lb = layout(last2(eb));
        if (sb < 0 || lb == null) {
            eb = eb.contiguous();
            sb = batchStride(eb, nb);
            lb = layout(last2(eb));
        }
        int count = (int) Shapes.numel(batch);
        Tensor c = Tensor.empty(DType.F32, a.device(), outShape);
        OpStats.GEMM_CALLS.incrementAndGet();
        a.backend().gemm(la[0] == 1, lb[0] == 1, count, m, n, k, ea, la[1], sa, eb, lb[1], sb, 0f, c, n, (long) m * n);
        return c;
    }

    /** A 16-bit B as F32 where the backend's GEMM takes only F32 (the CPU's widens 16-bit B inside). */
    private static Tensor widenOffCpu(Tensor b) {
        return b.dtype() == DType.F32 || b.device().isCpu() ? b : b.cast(DType.F32);
    }

    /** The last two dims' sizes and strides as a 2-D view (for layout checks only). */
    private static long[][] last2(Tensor x) {
        int[] s = x.shape();
        long[] st = x.strides();
        int r = s.length;
        return new long[][] {{s[r - 2], s[r - 1]}, {st[r - 2], st[r - 1]}};
    }

    private static long[] layout(Tensor x2d) {
        return layout(new long[][] {{x2d.size(0), x2d.size(1)}, {x2d.strides()[0], x2d.strides()[1]}});
    }

    /**
     * {transposed ? 1 : 0, leading dimension} for a [rows, cols] operand with strides (sr, sc),
     * or null when neither row- nor column-major (needs a copy).
     */
    private static long[] layout(long[][] sizesStrides) {
        long rows = sizesStrides[0][0], cols = sizesStrides[0][1];
        long sr = sizesStrides[1][0], sc = sizesStrides[1][1];
        if ((cols == 1 || sc == 1) && (rows == 1 || sr >= cols)) {
            return new long[] {0, rows == 1 ? Math.max(cols, 1) : sr};
        }
        if ((rows == 1 || sr == 1) && (cols == 1 || sc >= rows)) {
            return new long[] {1, cols == 1 ? Math.max(rows, 1) : sc};
        }
        return null;
    }

    /** One stride that walks all batch dims in order, 0 for a pure broadcast, or -1 if none exists. */
    private static long batchStride(Tensor x, int nb) {
        int[] s = x.shape();
        long[] st = x.strides();
        long stride = -1, expect = 0;
        for (int d = nb - 1; d >= 0; d--) {
            if (s[d] == 1) {
                continue;
            }
            if (stride == -1) {
                stride = st[d];
            } else if (st[d] != expect) {
                return -1;
            }
            expect = st[d] * s[d];
        }
        return stride == -1 ? 0 : stride;
    }
}
