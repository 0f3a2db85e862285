package dev.tessera.core.cpu;

/**
 * Walks an n-d iteration space row by row for several strided operands at once. Adjacent
 * dimensions that are contiguous for every operand are merged first, so a fully contiguous
 * operation is one long row and the kernels' vector paths apply.
 */
final class Strided {
    private Strided() {}

    /** Called for each row: element offsets of every operand, row length, and each operand's stride along the row. */
    @FunctionalInterface
    interface RowVisitor {
        void row(long[] offsets, int length, long[] rowStrides);
    }

    /** The iteration space after merging dimensions: sizes {@code shape[0..rank)} and each operand's strides. */
    private record Collapsed(int[] shape, long[][] strides, int rank) {}

    static void forEachRow(int[] shape, long[][] strides, long[] offsets, RowVisitor visitor) {
        for (int size : shape) {
            if (size == 0) {
                return;
            }
        }
        Collapsed c = collapse(shape, strides);
        int ops = strides.length, rr = c.rank();
        int[] sh = c.shape();
        long[][] st = c.strides();
        int len = sh[rr - 1];
        long rows = 1;
        for (int d = 0; d < rr - 1; d++) {
            rows *= sh[d];
        }
        long[] rowStrides = new long[ops];
        for (int o = 0; o < ops; o++) {
            rowStrides[o] = st[o][rr - 1];
        }
        long grain = Math.max(1, (1 << 15) / Math.max(len, 1));
        Parallel.forRange(rows, grain, (from, to) -> {
            int[] coord = new int[rr];
            long rem = from;
            for (int d = rr - 2; d >= 0; d--) {
                coord[d] = (int) (rem % sh[d]);
                rem /= sh[d];
            }
            long[] offs = new long[ops];
            for (long row = from; row < to; row++) {
                for (int o = 0; o < ops; o++) {
                    long off = offsets[o];
                    for (int d = 0; d < rr - 1; d++) {
                        off += coord[d] * st[o][d];
                    }
                    offs[o] = off;
                }
                visitor.row(offs, len, rowStrides);
                for (int d = rr - 2; d >= 0; d--) {
                    if (++coord[d] < sh[d]) {
                        break;
                    }
                    coord[d] = 0;
                }
            }
        });
    }

    /**
     * Drops size-1 dimensions and merges dimension d into the one before it when every operand
     * has stride[d-1] == stride[d]*shape[d]; at least one dimension remains (size 1 for a scalar).
     */
    private static Collapsed collapse(int[] shape, long[][] strides) {
        int ops = strides.length, rank = shape.length;
        int[] sh = new int[Math.max(rank, 1)];
        long[][] st = new long[ops][Math.max(rank, 1)];
        int r = 0;
        for (int d = 0; d < rank; d++) {
            if (shape[d] == 1) {
                continue;
            }
            if (r > 0 && mergeable(st, r - 1, strides, d, shape[d])) {
                sh[r - 1] *= shape[d];
                for (int o = 0; o < ops; o++) {
                    st[o][r - 1] = strides[o][d];
                }
                continue;
            }
            sh[r] = shape[d];
            for (int o = 0; o < ops; o++) {
                st[o][r] = strides[o][d];
            }
            r++;
        }
        if (r == 0) { // a scalar, or all sizes 1
            sh[0] = 1;
            r = 1;
        }
        return new Collapsed(sh, st, r);
    }

    private static boolean mergeable(long[][] merged, int last, long[][] strides, int d, int size) {
        for (int o = 0; o < strides.length; o++) {
            if (merged[o][last] != strides[o][d] * size) {
                return false;
            }
        }
        return true;
    }
}
