package dev.tessera.core.cpu;

import static dev.tessera.core.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * CPU paths the model tests do not reach: the scalar exp and tanh on NaN and at ordinary points,
 * a matrix-vector product accumulating into C (beta 1), and a short, wide-enough product split
 * into row strips because it has fewer row panels than threads.
 */
class RarePathsTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    @Test
    void scalarExpAndTanhPassNaNThroughAndMatchTheJdk() {
        assertTrue(Float.isNaN(VecMath.exp(Float.NaN)));
        assertTrue(Float.isNaN(VecMath.tanh(Float.NaN)));
        for (float x : new float[] {-20f, -3.5f, -0.3f, 0f, 0.7f, 2f, 15f}) {
            assertEquals(Math.exp(x), VecMath.exp(x), 2e-6 * Math.exp(x), "exp " + x);
            assertEquals(Math.tanh(x), VecMath.tanh(x), 2e-6, "tanh " + x);
        }
    }

    @Test
    void aMatrixVectorProductAddsIntoCWithBetaOne() {
        SplittableRandom random = new SplittableRandom(3);
        for (boolean rowVector : new boolean[] {true, false}) {
            int m = rowVector ? 1 : 300, n = rowVector ? 300 : 1, k = 70;   // past Gemm.SMALL
            float[] a = floats(m * k, random), b = floats(k * n, random), c = floats(m * n, random);
            float[] expected = c.clone();
            Gemm.sgemm(false, false, m, n, k, MemorySegment.ofArray(a), 0, k, MemorySegment.ofArray(b), 0, n,
                    1f, MemorySegment.ofArray(c), 0, n);
            ReferenceGemm.sgemm(false, false, m, n, k, MemorySegment.ofArray(a), 0, k, MemorySegment.ofArray(b), 0, n,
                    1f, MemorySegment.ofArray(expected), 0, n);
            assertClose(expected, c, 1e-5, 1e-5, rowVector ? "m = 1" : "n = 1");
        }
    }

    @Test
    void aShortProductWithFewerRowPanelsThanThreadsIsSplitIntoRowStripsCorrectly() {
        int before = Parallel.threads();
        SplittableRandom random = new SplittableRandom(5);
        // m > n, both wider than GemmThin takes, m within two register tiles: with 3 threads the
        // strip direction is chosen by the row-panel count
        int m = 2 * Gemm.MR, n = GemmThin.maxNarrow() + 1, k = 300;
        float[] a = floats(m * k, random), b = floats(k * n, random);
        float[] c = new float[m * n], expected = new float[m * n];
        try {
            Parallel.setThreads(3);
            Gemm.sgemm(false, false, m, n, k, MemorySegment.ofArray(a), 0, k, MemorySegment.ofArray(b), 0, n,
                    0f, MemorySegment.ofArray(c), 0, n);
        } finally {
            Parallel.setThreads(before);
        }
        ReferenceGemm.sgemm(false, false, m, n, k, MemorySegment.ofArray(a), 0, k, MemorySegment.ofArray(b), 0, n,
                0f, MemorySegment.ofArray(expected), 0, n);
        assertClose(expected, c, 1e-4, 1e-4, "row strips");
    }

    private static float[] floats(int count, SplittableRandom random) {
        float[] x = new float[count];
        for (int i = 0; i < count; i++) {
            x[i] = (float) random.nextDouble(-1, 1);
        }
        return x;
    }
}
