package dev.tessera.cuda.backend;

import dev.tessera.core.TesseraException;
import java.util.Arrays;

/**
 * The iteration space of a strided kernel: dimensions of size 1 dropped and neighbours that are
 * contiguous for every operand merged (as the CPU backend's row walker does), so a contiguous
 * operation becomes one dimension. Sizes and strides travel to the kernel as the {@code Dims} and
 * {@code Strides} structs of {@code common.cuh}: 64-bit integers, at most {@link #MAX_DIMS}.
 *
 * @param sizes   merged sizes, outermost first (at least one)
 * @param strides per operand, its stride along each merged dimension, in elements
 * @param count   number of elements
 */
record StridedLayout(long[] sizes, long[][] strides, long count) {
    static final int MAX_DIMS = 8;

    /** Merges {@code shape} for operands with the given element strides (each of the shape's rank). */
    static StridedLayout of(int[] shape, long[]... operandStrides) {
        int ops = operandStrides.length;
        long[] sz = new long[shape.length + 1];
        long[][] st = new long[ops][shape.length + 1];
        int rank = 0;
        long count = 1;
        for (int d = 0; d < shape.length; d++) {
            count *= shape[d];
            if (shape[d] == 1) {
                continue;
            }
            if (rank > 0 && mergeable(st, rank - 1, operandStrides, d, shape[d])) {
                sz[rank - 1] *= shape[d];
                for (int o = 0; o < ops; o++) {
                    st[o][rank - 1] = operandStrides[o][d];
                }
                continue;
            }
            sz[rank] = shape[d];
            for (int o = 0; o < ops; o++) {
                st[o][rank] = operandStrides[o][d];
            }
            rank++;
        }
        if (rank == 0) {
            sz[0] = 1;
            rank = 1;
        }
        long[][] strides = new long[ops][];
        for (int o = 0; o < ops; o++) {
            strides[o] = Arrays.copyOf(st[o], rank);
        }
        return new StridedLayout(Arrays.copyOf(sz, rank), strides, count);
    }

    private static boolean mergeable(long[][] st, int prev, long[][] operandStrides, int d, int size) {
        for (int o = 0; o < st.length; o++) {
            if (st[o][prev] != operandStrides[o][d] * size) {
                return false;
            }
        }
        return true;
    }

    int rank() {
        return sizes.length;
    }

    /** The {@code Dims} struct: rank, then sizes padded with 1 to {@link #MAX_DIMS}. */
    long[] dims() {
        checkRank();
        long[] out = new long[MAX_DIMS + 1];
        Arrays.fill(out, 1);
        out[0] = sizes.length;
        System.arraycopy(sizes, 0, out, 1, sizes.length);
        return out;
    }

    /** The {@code Strides} struct of operand {@code o}: strides padded with 0 to {@link #MAX_DIMS}. */
    long[] strides(int o) {
        checkRank();
        return Arrays.copyOf(strides[o], MAX_DIMS);
    }

    private void checkRank() {
        if (sizes.length > MAX_DIMS) {
            throw new TesseraException("CUDA strided kernels take at most " + MAX_DIMS
                    + " dimensions after merging, got " + sizes.length + " (sizes " + Arrays.toString(sizes) + "); call contiguous() first");
        }
    }
}
