package dev.tessera.core;

import java.util.Arrays;

/** Embedding lookup, index_select, gather and concatenation. */
final class Indexing {
    private Indexing() {}

    // weight (V, C), ids (...) I64 -> (..., C)
    static Tensor embedding(Tensor weight, Tensor ids) {
        if (weight.dim() != 2) {
            throw new TesseraException("embedding: weight must be [V, C], got " + Shapes.str(weight.shape()));
        }
        if (ids.dtype() != DType.I64) {
            throw new TesseraException("embedding: ids must be I64, got " + ids.dtype());
        }
        int vocab = weight.size(0), dim = weight.size(1);
        // out-of-range ids are the backend's to report: at once on the CPU, through the error word on a GPU
        Tensor idc = ids.contiguous();
        int count = (int) ids.numel();
        int[] outShape = Arrays.copyOf(ids.shape(), ids.dim() + 1);
        outShape[ids.dim()] = dim;
        if (weight.dtype() != DType.F32 && !weight.requiresGrad()) {
            // A frozen BF16/F16 table: the backend widens only the rows looked up, never the whole
            // table, and reads the ids where they are (no copy to the host).
            Tensor out = Tensor.empty(DType.F32, weight.device(), outShape);
            weight.backend().embedding(weight.contiguous(), idc.to(weight.device()), out, count, dim);
            return out;
        }
        Tensor w = weight.dtype() == DType.F32 ? weight.contiguous() : weight.contiguous().cast(DType.F32);
        Tensor out = Tensor.empty(DType.F32, weight.device(), outShape);
        w.backend().embedding(w, idc, out, count, dim);
        return Autograd.record("embedding", out, g -> {
            Tensor dw = Tensor.zeros(DType.F32, g.device(), vocab, dim);
            w.backend().embeddingBackward(g.contiguous(), idc, dw, count, dim);
            return new Tensor[] {dw, null};
        }, w, idc);
    }

    static Tensor indexSelect(Tensor x, int dim, Tensor index) {
        if (index.dim() != 1 || index.dtype() != DType.I64) {
            throw new TesseraException("indexSelect: index must be a 1-D I64 tensor, got " + index.dtype() + " " + Shapes.str(index.shape()));
        }
        if (x.dtype() != DType.F32) {
            throw new TesseraException("indexSelect computes in F32, got " + x.dtype());
        }
        int[] shape = x.shape();
        int d = Shapes.axis(dim, shape.length);
        int n = shape[d];
        Tensor idx = index.contiguous();   // range-checked by the backend, as embedding's ids
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) {
            outer *= shape[i];
        }
        for (int i = d + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        int count = index.size(0);
        int[] outShape = shape.clone();
        outShape[d] = count;
        Tensor xc = x.contiguous();
        Tensor out = Tensor.empty(DType.F32, x.device(), outShape);
        xc.backend().indexSelect(xc, idx, out, outer, n, inner, count);
        int o = outer, in = inner;
        return Autograd.record("index_select", out, g -> {
            Tensor dx = Tensor.zeros(DType.F32, g.device(), shape);
            xc.backend().indexAdd(g.contiguous(), idx, dx, o, n, in, count);
            return new Tensor[] {dx, null};
        }, xc, idx);
    }

    /** torch.gather along dim, built from indexSelect on flattened rows (index shape = output shape). */
    static Tensor gather(Tensor x, int dim, Tensor index) {
        int[] xs = x.shape();
        int[] is = index.shape();
        int d = Shapes.axis(dim, xs.length);
        if (is.length != xs.length) {
            throw new TesseraException("gather: index rank " + is.length + " differs from input rank " + xs.length);
        }
        for (int i = 0; i < xs.length; i++) {
            if (i != d && is[i] > xs[i]) {
                throw new TesseraException("gather: index shape " + Shapes.str(is) + " exceeds input shape " + Shapes.str(xs) + " at dim " + i);
            }
        }
        // flat position in x for every output element: sum over dims of coord*stride, with index on dim d
        long[] idx = index.contiguous().toLongArray();
        long[] xStrides = Shapes.contiguousStrides(xs);
        long[] flat = new long[idx.length];
        int[] coord = new int[is.length];
        for (int e = 0; e < idx.length; e++) {
            long pos = 0;
            for (int i = 0; i < is.length; i++) {
                long c = i == d ? idx[e] : coord[i];
                if (i == d && (c < 0 || c >= xs[d])) {
                    throw new TesseraException("gather: index " + c + " out of range for dimension " + d + " of size " + xs[d]);
                }
                pos += c * xStrides[i];
            }
            flat[e] = pos;
            for (int i = is.length - 1; i >= 0; i--) {
                if (++coord[i] < is[i]) {
                    break;
                }
                coord[i] = 0;
            }
        }
        return x.reshape(-1).indexSelect(0, Tensor.ofLongs(flat, flat.length).to(x.device())).reshape(is);
    }

    static Tensor cat(int dim, Tensor... parts) {
        if (parts.length == 0) {
            throw new TesseraException("cat: no tensors given");
        }
        int[] first = parts[0].shape();
        int d = Shapes.axis(dim, first.length);
        int total = 0;
        for (Tensor p : parts) {
            int[] s = p.shape();
            if (s.length != first.length || p.dtype() != parts[0].dtype()) {
                throw new TesseraException("cat: cannot join " + parts[0].dtype() + " " + Shapes.str(first) + " with " + p.dtype() + " " + Shapes.str(s));
            }
            for (int i = 0; i < s.length; i++) {
                if (i != d && s[i] != first[i]) {
                    throw new TesseraException("cat: shapes " + Shapes.str(first) + " and " + Shapes.str(s) + " differ outside dim " + d);
                }
            }
            total += s[d];
        }
        int[] outShape = first.clone();
        outShape[d] = total;
        Tensor out = Tensor.empty(parts[0].dtype(), parts[0].device(), outShape);
        int start = 0;
        int[] sizes = new int[parts.length];
        try (var ng = Autograd.noGrad()) {
            for (int i = 0; i < parts.length; i++) {
                sizes[i] = parts[i].size(d);
                out.narrow(d, start, sizes[i]).copyFrom(parts[i]);
                start += sizes[i];
            }
        }
        return Autograd.record("cat", out, g -> {
            Tensor[] grads = new Tensor[parts.length];
            int s = 0;
            for (int i = 0; i < parts.length; i++) {
                grads[i] = Autograd.needsGrad(parts[i]) ? g.narrow(d, s, sizes[i]) : null;
                s += sizes[i];
            }
            return grads;
        }, parts);
    }
}
