package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/** The GEMM argument checks at their edges: empty sizes, single rows, exact fits, a shared C. */
class GemmChecksTest {

    private static MemorySegment floats(int n) {
        return MemorySegment.ofArray(new float[n]);
    }

    /** C [m, n] = A [m, k] B [k, n], row-major and packed, batch products strideX apart. */
    private static void check(int batch, int m, int n, int k, int aFloats, int bFloats, int cFloats, long strideC) {
        GemmChecks.check(batch, false, false, m, n, k, floats(aFloats), 0, k, (long) m * k, floats(bFloats), 0, n,
                (long) k * n, floats(cFloats), 0, n, strideC);
    }

    @Test
    void emptySizesAreAllowedAndNegativeOnesRefused() {
        assertDoesNotThrow(() -> check(0, 2, 3, 4, 0, 0, 0, 6));
        assertDoesNotThrow(() -> check(1, 0, 3, 4, 0, 12, 0, 0));
        assertDoesNotThrow(() -> check(1, 2, 0, 4, 8, 0, 0, 0));
        assertDoesNotThrow(() -> check(1, 2, 3, 0, 0, 0, 6, 6));
        int[][] bad = {{-1, 2, 3, 4}, {1, -1, 3, 4}, {1, 2, -1, 4}, {1, 2, 3, -1}};
        for (int[] b : bad) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> check(b[0], b[1], b[2], b[3], 100, 100, 100, 6));
            assertTrue(e.getMessage().contains("sizes must be >= 0"), e.getMessage());
        }
    }

    @Test
    void operandsMustHoldTheirLastElementAndNoMore() {
        // batch 2 of [2, 4] x [4, 3]: A needs 16 floats, B 24, C 12
        assertDoesNotThrow(() -> check(2, 2, 3, 4, 16, 24, 12, 6));
        assertThrows(IllegalArgumentException.class, () -> check(2, 2, 3, 4, 15, 24, 12, 6));
        assertThrows(IllegalArgumentException.class, () -> check(2, 2, 3, 4, 16, 23, 12, 6));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> check(2, 2, 3, 4, 16, 24, 11, 6));
        assertTrue(e.getMessage().contains("segment C holds 11 floats but 12 are needed"), e.getMessage());
    }

    @Test
    void aSharedCIsRefusedOnlyWhenSeveralProductsWouldWriteIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> check(2, 2, 3, 4, 16, 24, 6, 0));
        assertTrue(e.getMessage().contains("strideC is 0 with batch 2"), e.getMessage());
        assertDoesNotThrow(() -> check(1, 2, 3, 4, 8, 12, 6, 0));
        assertDoesNotThrow(() -> check(2, 0, 3, 4, 0, 24, 0, 0));
        assertDoesNotThrow(() -> check(2, 2, 0, 4, 16, 0, 0, 0));
    }

    @Test
    void aSingleRowMayHaveAnyLeadingDimension() {
        MemorySegment a = floats(4), b = floats(12), c = floats(3);
        // A [1, 4] with lda 0: one row, so its leading dimension is never used
        assertDoesNotThrow(() -> GemmChecks.check(1, false, false, 1, 3, 4, a, 0, 0, 0, b, 0, 3, 0, c, 0, 0, 0));
        // two rows need ld >= the row length; equal is the packed case
        assertDoesNotThrow(() -> GemmChecks.check(1, false, false, 2, 3, 4, floats(8), 0, 4, 0, b, 0, 3, 0, floats(6), 0, 3, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GemmChecks.check(1, false, false, 2, 3, 4, floats(8), 0, 3, 0, b, 0, 3, 0, floats(6), 0, 3, 0));
        assertTrue(e.getMessage().contains("leading dimension of A is 3"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> GemmChecks.check(1, false, false, 1, 3, 4, null, 0, 4, 0, b, 0, 3, 0, c, 0, 3, 0));
        assertThrows(IllegalArgumentException.class,
                () -> GemmChecks.check(1, false, false, 1, 3, 4, a, -1, 4, 0, b, 0, 3, 0, c, 0, 3, 0));
    }
}
