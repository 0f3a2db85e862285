package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Each micro-kernel called directly on packed panels, so all six run whichever MR this CPU's
 * width selects: tile[r*NR + j] = sum over p of a[ai + p*stride + r] * b[bi + p*NR + j], summed
 * with fused multiply-adds in p order, hence bit for bit.
 */
class GemmKernelTest {
    private static final int L = CpuBackend.L;
    private static final int NR = 2 * L;

    private interface Kernel {
        void run(float[] a, int ai, float[] b, int bi, int kc, float[] tile);
    }

    /** rows: rows of C the kernel computes; stride: floats per k step of its A panel; vectors: 1 or 2. */
    private static void check(Kernel kernel, int rows, int stride, int vectors) {
        SplittableRandom random = new SplittableRandom(rows * 31L + vectors);
        for (int kc : new int[] {0, 1, 2, 5}) {
            int ai = 3, bi = 5;
            float[] a = new float[ai + Math.max(1, kc) * stride], b = new float[bi + Math.max(1, kc) * NR];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) random.nextGaussian();
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) random.nextGaussian();
            }
            float[] tile = new float[12 * NR];
            java.util.Arrays.fill(tile, Float.NaN);
            kernel.run(a, ai, b, bi, kc, tile);
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < vectors * L; j++) {
                    float expected = 0f;
                    for (int p = 0; p < kc; p++) {
                        expected = Math.fma(a[ai + p * stride + r], b[bi + p * NR + j], expected);
                    }
                    assertEquals(expected, tile[r * NR + j], "rows " + rows + " x " + vectors + " vectors, kc=" + kc
                            + ", C[" + r + "," + j + "]");
                }
            }
        }
    }

    @Test
    void twelveRowKernels() {
        check(GemmKernel::kernel12x2, 12, 12, 2);
        check(GemmKernel::kernel12x1, 12, 12, 1);
    }

    @Test
    void sixRowKernels() {
        check(GemmKernel::kernel6x2, 6, 6, 2);
        check(GemmKernel::kernel6x1, 6, 6, 1);
    }

    @Test
    void fourRowKernelsReadPanelsPackedForThisWidthsMr() {
        check(GemmKernel::kernel4x2, 4, GemmKernel.MR, 2);
        check(GemmKernel::kernel4x1, 4, GemmKernel.MR, 1);
    }
}
