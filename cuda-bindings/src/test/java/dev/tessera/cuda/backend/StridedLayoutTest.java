package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.core.TesseraException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StridedLayoutTest {

    /** Element offsets of operand o visited in row-major order of the n-d shape. */
    private static List<Long> naive(int[] shape, long[] strides) {
        List<Long> out = new ArrayList<>();
        long count = 1;
        for (int s : shape) {
            count *= s;
        }
        for (long i = 0; i < count; i++) {
            long rem = i, off = 0;
            for (int d = shape.length - 1; d >= 0; d--) {
                off += (rem % shape[d]) * strides[d];
                rem /= shape[d];
            }
            out.add(off);
        }
        return out;
    }

    /** The same walk over the merged layout, as the kernels' strided_offsets does it. */
    private static List<Long> merged(StridedLayout l, int o) {
        List<Long> out = new ArrayList<>();
        long[] dims = l.dims(), st = l.strides(o);
        for (long i = 0; i < l.count(); i++) {
            long rem = i, off = 0;
            for (int d = (int) dims[0] - 1; d >= 0; d--) {
                off += (rem % dims[d + 1]) * st[d];
                rem /= dims[d + 1];
            }
            out.add(off);
        }
        return out;
    }

    @Test
    void mergingVisitsTheSameElementsInTheSameOrder() {
        Random r = new Random(11);
        for (int trial = 0; trial < 500; trial++) {
            int rank = r.nextInt(6);
            int[] shape = new int[rank];
            for (int d = 0; d < rank; d++) {
                shape[d] = 1 + r.nextInt(4);
            }
            long[][] strides = new long[3][];
            for (int o = 0; o < 3; o++) {
                strides[o] = stridesOf(shape, r);
            }
            StridedLayout l = StridedLayout.of(shape, strides);
            for (int o = 0; o < 3; o++) {
                assertEquals(naive(shape, strides[o]), merged(l, o), "trial " + trial + " operand " + o);
            }
        }
    }

    /** Contiguous, transposed, broadcast (stride 0) or sliced strides for shape. */
    private static long[] stridesOf(int[] shape, Random r) {
        long[] s = new long[shape.length];
        long next = 1;
        int[] order = java.util.stream.IntStream.range(0, shape.length).toArray();
        if (r.nextBoolean() && shape.length > 1) {   // a transpose
            int i = r.nextInt(shape.length), j = r.nextInt(shape.length);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (int k = shape.length - 1; k >= 0; k--) {
            int d = order[k];
            s[d] = r.nextInt(5) == 0 ? 0 : next;
            next *= shape[d] + (r.nextInt(4) == 0 ? 1 : 0);
        }
        return s;
    }

    @Test
    void contiguousOperandsBecomeOneDimension() {
        StridedLayout l = StridedLayout.of(new int[] {2, 3, 4}, new long[] {12, 4, 1}, new long[] {12, 4, 1});
        assertArrayEquals(new long[] {24}, l.sizes());
        assertEquals(24, l.count());
    }

    @Test
    void aBroadcastRowStaysItsOwnDimension() {
        // out [2,3] contiguous, bias [3] expanded to [2,3] with strides (0, 1)
        StridedLayout l = StridedLayout.of(new int[] {2, 3}, new long[] {3, 1}, new long[] {0, 1});
        assertArrayEquals(new long[] {2, 3}, l.sizes());
        assertArrayEquals(new long[] {0, 1, 0, 0, 0, 0, 0, 0}, l.strides(1));
        assertArrayEquals(new long[] {2, 2, 3, 1, 1, 1, 1, 1, 1}, l.dims());
    }

    @Test
    void scalarsAndEmptyShapesHaveOneDimension() {
        assertArrayEquals(new long[] {1}, StridedLayout.of(new int[0], new long[0]).sizes());
        assertEquals(0, StridedLayout.of(new int[] {3, 0}, new long[] {0, 1}).count());
    }

    @Test
    void moreThanEightUnmergeableDimensionsAreRejected() {
        int[] shape = {2, 2, 2, 2, 2, 2, 2, 2, 2};
        long[] strides = new long[9];
        for (int d = 0; d < 9; d++) {
            strides[d] = 1L << (2 * (8 - d));   // gaps everywhere: nothing merges
        }
        StridedLayout l = StridedLayout.of(shape, strides);
        assertEquals(9, l.rank());
        assertThrows(TesseraException.class, l::dims);
    }
}
