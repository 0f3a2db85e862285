package dev.tessera.core;

import java.util.Arrays;

/** Shape arithmetic shared by the tensor layer and backends: sizes, strides, broadcasting. */
public final class Shapes {
    private Shapes() {}

    /** Number of elements of a shape (1 for a scalar []); rejects negative sizes and overflow. */
    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new TesseraException("negative size in shape " + str(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    /** Row-major strides in elements. */
    public static long[] contiguousStrides(int[] shape) {
        long[] strides = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return strides;
    }

    /** NumPy/PyTorch broadcasting of two shapes; the error names both. */
    public static int[] broadcast(int[] a, int[] b) {
        int n = Math.max(a.length, b.length);
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            int da = i < n - a.length ? 1 : a[i - (n - a.length)];
            int db = i < n - b.length ? 1 : b[i - (n - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new TesseraException("shapes " + str(a) + " and " + str(b) + " cannot be broadcast together");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Normalises a possibly negative axis against rank {@code dim}. */
    public static int axis(int axis, int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= Math.max(rank, 1)) {
            throw new TesseraException("dimension " + axis + " out of range for a tensor of rank " + rank);
        }
        return a;
    }

    public static String str(int[] shape) {
        return Arrays.toString(shape);
    }
}
