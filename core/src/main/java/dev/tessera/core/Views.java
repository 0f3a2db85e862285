package dev.tessera.core;

import java.util.Arrays;

/**
 * View ops: a new shape, strides and offset over the same storage, never a copy (reshape copies
 * only when the strides cannot express the new shape). Each backward maps the output gradient
 * back to the input's shape: the inverse view, a zero-padded narrow, or a sum over broadcast dims.
 */
final class Views {
    private Views() {}

    private static Tensor view(Tensor x, int[] shape, long[] strides, long offset) {
        return new Tensor(x.storage(), x.dtype(), shape, strides, offset);
    }

    // x (any shape with numel n) -> newShape (numel n, one size may be -1)
    static Tensor reshape(Tensor x, int... newShape) {
        int[] target = inferShape(x, newShape);
        long[] viewStrides = viewStrides(x, target);
        if (viewStrides == null) {
            return reshape(x.contiguous(), target);
        }
        int[] inShape = x.shape();
        return Autograd.record("reshape", view(x, target, viewStrides, x.offset()),
                g -> new Tensor[] {g.reshape(inShape)}, x);
    }

    private static int[] inferShape(Tensor x, int[] newShape) {
        int[] target = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < target.length; i++) {
            if (target[i] == -1) {
                if (infer >= 0) {
                    throw new TesseraException("reshape: only one dimension can be -1, got " + Shapes.str(newShape));
                }
                infer = i;
            } else if (target[i] < 0) {
                throw new TesseraException("reshape: invalid size in " + Shapes.str(newShape));
            } else {
                known *= target[i];
            }
        }
        long n = x.numel();
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new TesseraException("reshape: cannot view " + Shapes.str(x.shape()) + " as " + Shapes.str(newShape));
            }
            target[infer] = (int) (n / known);
        } else if (known != n) {
            throw new TesseraException("reshape: cannot view " + Shapes.str(x.shape()) + " (" + n + " elements) as " + Shapes.str(newShape));
        }
        return target;
    }

    /** Strides giving {@code target} over x's memory, or null when a copy is needed (PyTorch's computeStride). */
    private static long[] viewStrides(Tensor x, int[] target) {
        int[] shape = x.shape();
        long[] strides = x.strides();
        long[] newStrides = new long[target.length];
        if (x.numel() == 0) {
            return Shapes.contiguousStrides(target);
        }
        int viewD = target.length - 1;
        long chunkBase = strides.length == 0 ? 1 : strides[strides.length - 1];
        long tensorNumel = 1;
        long viewNumel = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            tensorNumel *= shape[d];
            if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensorNumel * chunkBase)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] == 1)) {
                    newStrides[viewD] = viewNumel * chunkBase;
                    viewNumel *= target[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) {
                    return null;
                }
                if (d > 0) {
                    chunkBase = strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        // remaining target dims must be 1
        for (; viewD >= 0; viewD--) {
            if (target[viewD] != 1) {
                return null;
            }
            newStrides[viewD] = 1;
        }
        return newStrides;
    }

    // x (..., A, ..., B, ...) -> (..., B, ..., A, ...)
    static Tensor transpose(Tensor x, int d0, int d1) {
        int[] shape = x.shape();
        long[] strides = x.strides();
        int a = Shapes.axis(d0, shape.length), b = Shapes.axis(d1, shape.length);
        int[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return Autograd.record("transpose", view(x, s, st, x.offset()), g -> new Tensor[] {g.transpose(a, b)}, x);
    }

    // x (R, C) -> (C, R)
    static Tensor t(Tensor x) {
        if (x.dim() != 2) {
            throw new TesseraException("t() needs a 2-D tensor, got " + Shapes.str(x.shape()));
        }
        return transpose(x, 0, 1);
    }

    // x (s0, s1, ...) -> (s[order[0]], s[order[1]], ...)
    static Tensor permute(Tensor x, int... order) {
        int[] shape = x.shape();
        long[] strides = x.strides();
        if (order.length != shape.length) {
            throw new TesseraException("permute: " + order.length + " dims given for a tensor of shape " + Shapes.str(shape));
        }
        int[] s = new int[order.length];
        long[] st = new long[order.length];
        int[] inverse = new int[order.length];
        boolean[] seen = new boolean[order.length];
        for (int i = 0; i < order.length; i++) {
            int d = Shapes.axis(order[i], shape.length);
            if (seen[d]) {
                throw new TesseraException("permute: repeated dimension in " + Arrays.toString(order));
            }
            seen[d] = true;
            s[i] = shape[d];
            st[i] = strides[d];
            inverse[d] = i;
        }
        return Autograd.record("permute", view(x, s, st, x.offset()), g -> new Tensor[] {g.permute(inverse)}, x);
    }

    // x (..., n, ...) -> (..., length, ...); backward writes g into zeros of x's shape
    static Tensor narrow(Tensor x, int dim, int start, int length) {
        int[] inShape = x.shape();
        int d = Shapes.axis(dim, inShape.length);
        if (start < 0 || length < 0 || start + length > inShape[d]) {
            throw new TesseraException("narrow: range [" + start + ", " + (start + length) + ") out of bounds for dim " + d
                    + " of shape " + Shapes.str(inShape));
        }
        return Autograd.record("narrow", narrowView(x, d, start, length), g -> {
            Tensor full = Tensor.zeros(g.dtype(), g.device(), inShape);
            narrowView(full, d, start, length).copyFrom(g);
            return new Tensor[] {full};
        }, x);
    }

    private static Tensor narrowView(Tensor x, int d, int start, int length) {
        int[] s = x.shape();
        s[d] = length;
        long[] strides = x.strides();
        return view(x, s, strides, x.offset() + start * strides[d]);
    }

    // x (s...) -> target (new leading dims, sizes of 1 broadcast); backward sums over the broadcast dims
    static Tensor expand(Tensor x, int... target) {
        int[] shape = x.shape();
        long[] strides = x.strides();
        if (target.length < shape.length) {
            throw new TesseraException("expand: cannot expand " + Shapes.str(shape) + " to " + Shapes.str(target));
        }
        int lead = target.length - shape.length;
        int[] s = new int[target.length];
        long[] st = new long[target.length];
        for (int i = 0; i < target.length; i++) {
            int src = i - lead;
            int want = target[i];
            if (src < 0) {
                if (want < 0) {
                    throw new TesseraException("expand: -1 not allowed for new leading dims in " + Shapes.str(target));
                }
                s[i] = want;
                st[i] = 0;
            } else if (want == -1 || want == shape[src]) {
                s[i] = shape[src];
                st[i] = strides[src];
            } else if (shape[src] == 1) {
                s[i] = want;
                st[i] = 0;
            } else {
                throw new TesseraException("expand: cannot expand " + Shapes.str(shape) + " to " + Shapes.str(target));
            }
        }
        if (Arrays.equals(s, shape)) {
            return x;
        }
        return Autograd.record("expand", view(x, s, st, x.offset()), g -> new Tensor[] {g.sumTo(shape)}, x);
    }

    /** x broadcast to {@code target}, or x itself when it already has that shape. */
    static Tensor expandTo(Tensor x, int[] target) {
        return Arrays.equals(x.shape(), target) ? x : expand(x, target);
    }

    // x (s...) -> (s[..dim], 1, s[dim..])
    static Tensor unsqueeze(Tensor x, int dim) {
        int[] shape = x.shape();
        long[] strides = x.strides();
        int d = dim < 0 ? dim + shape.length + 1 : dim;
        if (d < 0 || d > shape.length) {
            throw new TesseraException("unsqueeze: dimension " + dim + " out of range for shape " + Shapes.str(shape));
        }
        int[] s = new int[shape.length + 1];
        long[] st = new long[shape.length + 1];
        for (int i = 0, j = 0; i < s.length; i++) {
            if (i == d) {
                s[i] = 1;
                st[i] = j < shape.length ? strides[j] * shape[j] : 1;
            } else {
                s[i] = shape[j];
                st[i] = strides[j];
                j++;
            }
        }
        return Autograd.record("unsqueeze", view(x, s, st, x.offset()), g -> new Tensor[] {g.reshape(shape)}, x);
    }

    // x (s[..dim], 1, s[dim+1..]) -> (s[..dim], s[dim+1..])
    static Tensor squeeze(Tensor x, int dim) {
        int[] shape = x.shape();
        long[] strides = x.strides();
        int d = Shapes.axis(dim, shape.length);
        if (shape[d] != 1) {
            throw new TesseraException("squeeze: dimension " + d + " of shape " + Shapes.str(shape) + " is not 1");
        }
        int[] s = new int[shape.length - 1];
        long[] st = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != d) {
                s[j] = shape[i];
                st[j] = strides[i];
                j++;
            }
        }
        return Autograd.record("squeeze", view(x, s, st, x.offset()), g -> new Tensor[] {g.reshape(shape)}, x);
    }

    // x (..., sum(sizes), ...) -> pieces (..., sizes[i], ...), each a narrow view
    static Tensor[] split(Tensor x, int dim, int... sizes) {
        int[] shape = x.shape();
        int d = Shapes.axis(dim, shape.length);
        long total = 0;
        for (int s : sizes) {
            total += s;
        }
        if (total != shape[d]) {
            throw new TesseraException("split: sizes " + Arrays.toString(sizes) + " do not add up to " + shape[d]
                    + " (dim " + d + " of " + Shapes.str(shape) + ")");
        }
        Tensor[] out = new Tensor[sizes.length];
        int start = 0;
        for (int i = 0; i < sizes.length; i++) {
            out[i] = x.narrow(d, start, sizes[i]);
            start += sizes[i];
        }
        return out;
    }

    // parts k × (s...) -> (s[..dim], k, s[dim..]): unsqueezed views joined by cat
    static Tensor stack(int dim, Tensor... parts) {
        Tensor[] un = new Tensor[parts.length];
        for (int i = 0; i < parts.length; i++) {
            un[i] = parts[i].unsqueeze(dim);
        }
        return Tensor.cat(dim, un);
    }
}
