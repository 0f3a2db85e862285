package dev.tessera.core.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM micro-kernels: an MR x NR tile of C (NR = 2 vectors) kept in registers while it sums
 * over a packed A panel and a packed B panel. MR is 12 where there are 32 vector registers
 * (AVX-512, NEON, SVE): 24 accumulators, two B vectors and one broadcast A value. With 8-lane
 * vectors (AVX2, 16 registers) MR is 6, so 12 accumulators fit without spilling.
 *
 * <p>Edge tiles with at most 4 rows or one vector of columns (a few tokens, a LoRA rank) use
 * smaller kernels over the same packed layout instead of computing padding. Every kernel sums
 * each element in the same order, so which one ran never changes a result.
 *
 * <p>The kernels are package-private so that a test can run all six whatever width this CPU
 * selects (the 6-row ones serve 8-lane vectors, the 12-row ones 4- and 16-lane vectors).
 */
final class GemmKernel {
    private static final VectorSpecies<Float> S = VectorWidth.FLOATS;
    private static final int L = S.length();
    static final int MR = L == 8 ? 6 : 12;
    private static final int FEW_ROWS = 4;

    private GemmKernel() {}

    /**
     * tile[r*NR + j] = sum over p < kc of a[ai + p*MR + r] * b[bi + p*NR + j], for r < MR and
     * j < NR, from the panels written by Gemm.packA / Gemm.packB. Only r < rows and j < cols are
     * guaranteed; the rest of the tile may hold anything.
     */
    static void kernel(float[] a, int ai, float[] b, int bi, int kc, float[] tile, int rows, int cols) {
        boolean oneVector = cols <= L;
        if (rows <= FEW_ROWS) {
            if (oneVector) {
                kernel4x1(a, ai, b, bi, kc, tile);
            } else {
                kernel4x2(a, ai, b, bi, kc, tile);
            }
        } else if (MR == 12) {
            if (oneVector) {
                kernel12x1(a, ai, b, bi, kc, tile);
            } else {
                kernel12x2(a, ai, b, bi, kc, tile);
            }
        } else if (oneVector) {
            kernel6x1(a, ai, b, bi, kc, tile);
        } else {
            kernel6x2(a, ai, b, bi, kc, tile);
        }
    }

    static void kernel12x2(float[] a, int ai, float[] b, int bi, int kc, float[] tile) {
        FloatVector c0lo = FloatVector.zero(S), c0hi = FloatVector.zero(S);
        FloatVector c1lo = FloatVector.zero(S), c1hi = FloatVector.zero(S);
        FloatVector c2lo = FloatVector.zero(S), c2hi = FloatVector.zero(S);
        FloatVector c3lo = FloatVector.zero(S), c3hi = FloatVector.zero(S);
        FloatVector c4lo = FloatVector.zero(S), c4hi = FloatVector.zero(S);
        FloatVector c5lo = FloatVector.zero(S), c5hi = FloatVector.zero(S);
        FloatVector c6lo = FloatVector.zero(S), c6hi = FloatVector.zero(S);
        FloatVector c7lo = FloatVector.zero(S), c7hi = FloatVector.zero(S);
        FloatVector c8lo = FloatVector.zero(S), c8hi = FloatVector.zero(S);
        FloatVector c9lo = FloatVector.zero(S), c9hi = FloatVector.zero(S);
        FloatVector c10lo = FloatVector.zero(S), c10hi = FloatVector.zero(S);
        FloatVector c11lo = FloatVector.zero(S), c11hi = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = bi + p * 2 * L;
            int ao = ai + p * 12;
            FloatVector lo = FloatVector.fromArray(S, b, bo);
            FloatVector hi = FloatVector.fromArray(S, b, bo + L);
            FloatVector x;
            x = FloatVector.broadcast(S, a[ao]);
            c0lo = x.fma(lo, c0lo);
            c0hi = x.fma(hi, c0hi);
            x = FloatVector.broadcast(S, a[ao + 1]);
            c1lo = x.fma(lo, c1lo);
            c1hi = x.fma(hi, c1hi);
            x = FloatVector.broadcast(S, a[ao + 2]);
            c2lo = x.fma(lo, c2lo);
            c2hi = x.fma(hi, c2hi);
            x = FloatVector.broadcast(S, a[ao + 3]);
            c3lo = x.fma(lo, c3lo);
            c3hi = x.fma(hi, c3hi);
            x = FloatVector.broadcast(S, a[ao + 4]);
            c4lo = x.fma(lo, c4lo);
            c4hi = x.fma(hi, c4hi);
            x = FloatVector.broadcast(S, a[ao + 5]);
            c5lo = x.fma(lo, c5lo);
            c5hi = x.fma(hi, c5hi);
            x = FloatVector.broadcast(S, a[ao + 6]);
            c6lo = x.fma(lo, c6lo);
            c6hi = x.fma(hi, c6hi);
            x = FloatVector.broadcast(S, a[ao + 7]);
            c7lo = x.fma(lo, c7lo);
            c7hi = x.fma(hi, c7hi);
            x = FloatVector.broadcast(S, a[ao + 8]);
            c8lo = x.fma(lo, c8lo);
            c8hi = x.fma(hi, c8hi);
            x = FloatVector.broadcast(S, a[ao + 9]);
            c9lo = x.fma(lo, c9lo);
            c9hi = x.fma(hi, c9hi);
            x = FloatVector.broadcast(S, a[ao + 10]);
            c10lo = x.fma(lo, c10lo);
            c10hi = x.fma(hi, c10hi);
            x = FloatVector.broadcast(S, a[ao + 11]);
            c11lo = x.fma(lo, c11lo);
            c11hi = x.fma(hi, c11hi);
        }
        c0lo.intoArray(tile, 0 * L);
        c0hi.intoArray(tile, 1 * L);
        c1lo.intoArray(tile, 2 * L);
        c1hi.intoArray(tile, 3 * L);
        c2lo.intoArray(tile, 4 * L);
        c2hi.intoArray(tile, 5 * L);
        c3lo.intoArray(tile, 6 * L);
        c3hi.intoArray(tile, 7 * L);
        c4lo.intoArray(tile, 8 * L);
        c4hi.intoArray(tile, 9 * L);
        c5lo.intoArray(tile, 10 * L);
        c5hi.intoArray(tile, 11 * L);
        c6lo.intoArray(tile, 12 * L);
        c6hi.intoArray(tile, 13 * L);
        c7lo.intoArray(tile, 14 * L);
        c7hi.intoArray(tile, 15 * L);
        c8lo.intoArray(tile, 16 * L);
        c8hi.intoArray(tile, 17 * L);
        c9lo.intoArray(tile, 18 * L);
        c9hi.intoArray(tile, 19 * L);
        c10lo.intoArray(tile, 20 * L);
        c10hi.intoArray(tile, 21 * L);
        c11lo.intoArray(tile, 22 * L);
        c11hi.intoArray(tile, 23 * L);
    }

    static void kernel12x1(float[] a, int ai, float[] b, int bi, int kc, float[] tile) {
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = FloatVector.zero(S);
        FloatVector c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S);
        FloatVector c4 = FloatVector.zero(S);
        FloatVector c5 = FloatVector.zero(S);
        FloatVector c6 = FloatVector.zero(S);
        FloatVector c7 = FloatVector.zero(S);
        FloatVector c8 = FloatVector.zero(S);
        FloatVector c9 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S);
        FloatVector c11 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = bi + p * 2 * L;
            int ao = ai + p * 12;
            FloatVector lo = FloatVector.fromArray(S, b, bo);
            FloatVector x;
            x = FloatVector.broadcast(S, a[ao]);
            c0 = x.fma(lo, c0);
            x = FloatVector.broadcast(S, a[ao + 1]);
            c1 = x.fma(lo, c1);
            x = FloatVector.broadcast(S, a[ao + 2]);
            c2 = x.fma(lo, c2);
            x = FloatVector.broadcast(S, a[ao + 3]);
            c3 = x.fma(lo, c3);
            x = FloatVector.broadcast(S, a[ao + 4]);
            c4 = x.fma(lo, c4);
            x = FloatVector.broadcast(S, a[ao + 5]);
            c5 = x.fma(lo, c5);
            x = FloatVector.broadcast(S, a[ao + 6]);
            c6 = x.fma(lo, c6);
            x = FloatVector.broadcast(S, a[ao + 7]);
            c7 = x.fma(lo, c7);
            x = FloatVector.broadcast(S, a[ao + 8]);
            c8 = x.fma(lo, c8);
            x = FloatVector.broadcast(S, a[ao + 9]);
            c9 = x.fma(lo, c9);
            x = FloatVector.broadcast(S, a[ao + 10]);
            c10 = x.fma(lo, c10);
            x = FloatVector.broadcast(S, a[ao + 11]);
            c11 = x.fma(lo, c11);
        }
        c0.intoArray(tile, 0 * L);
        c1.intoArray(tile, 2 * L);
        c2.intoArray(tile, 4 * L);
        c3.intoArray(tile, 6 * L);
        c4.intoArray(tile, 8 * L);
        c5.intoArray(tile, 10 * L);
        c6.intoArray(tile, 12 * L);
        c7.intoArray(tile, 14 * L);
        c8.intoArray(tile, 16 * L);
        c9.intoArray(tile, 18 * L);
        c10.intoArray(tile, 20 * L);
        c11.intoArray(tile, 22 * L);
    }

    static void kernel6x2(float[] a, int ai, float[] b, int bi, int kc, float[] tile) {
        FloatVector c0lo = FloatVector.zero(S), c0hi = FloatVector.zero(S);
        FloatVector c1lo = FloatVector.zero(S), c1hi = FloatVector.zero(S);
        FloatVector c2lo = FloatVector.zero(S), c2hi = FloatVector.zero(S);
        FloatVector c3lo = FloatVector.zero(S), c3hi = FloatVector.zero(S);
        FloatVector c4lo = FloatVector.zero(S), c4hi = FloatVector.zero(S);
        FloatVector c5lo = FloatVector.zero(S), c5hi = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = bi + p * 2 * L;
            int ao = ai + p * 6;
            FloatVector lo = FloatVector.fromArray(S, b, bo);
            FloatVector hi = FloatVector.fromArray(S, b, bo + L);
            FloatVector x;
            x = FloatVector.broadcast(S, a[ao]);
            c0lo = x.fma(lo, c0lo);
            c0hi = x.fma(hi, c0hi);
            x = FloatVector.broadcast(S, a[ao + 1]);
            c1lo = x.fma(lo, c1lo);
            c1hi = x.fma(hi, c1hi);
            x = FloatVector.broadcast(S, a[ao + 2]);
            c2lo = x.fma(lo, c2lo);
            c2hi = x.fma(hi, c2hi);
            x = FloatVector.broadcast(S, a[ao + 3]);
            c3lo = x.fma(lo, c3lo);
            c3hi = x.fma(hi, c3hi);
            x = FloatVector.broadcast(S, a[ao + 4]);
            c4lo = x.fma(lo, c4lo);
            c4hi = x.fma(hi, c4hi);
            x = FloatVector.broadcast(S, a[ao + 5]);
            c5lo = x.fma(lo, c5lo);
            c5hi = x.fma(hi, c5hi);
        }
        c0lo.intoArray(tile, 0 * L);
        c0hi.intoArray(tile, 1 * L);
        c1lo.intoArray(tile, 2 * L);
        c1hi.intoArray(tile, 3 * L);
        c2lo.intoArray(tile, 4 * L);
        c2hi.intoArray(tile, 5 * L);
        c3lo.intoArray(tile, 6 * L);
        c3hi.intoArray(tile, 7 * L);
        c4lo.intoArray(tile, 8 * L);
        c4hi.intoArray(tile, 9 * L);
        c5lo.intoArray(tile, 10 * L);
        c5hi.intoArray(tile, 11 * L);
    }

    static void kernel6x1(float[] a, int ai, float[] b, int bi, int kc, float[] tile) {
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = FloatVector.zero(S);
        FloatVector c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S);
        FloatVector c4 = FloatVector.zero(S);
        FloatVector c5 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = bi + p * 2 * L;
            int ao = ai + p * 6;
            FloatVector lo = FloatVector.fromArray(S, b, bo);
            FloatVector x;
            x = FloatVector.broadcast(S, a[ao]);
            c0 = x.fma(lo, c0);
            x = FloatVector.broadcast(S, a[ao + 1]);
            c1 = x.fma(lo, c1);
            x = FloatVector.broadcast(S, a[ao + 2]);
            c2 = x.fma(lo, c2);
            x = FloatVector.broadcast(S, a[ao + 3]);
            c3 = x.fma(lo, c3);
            x = FloatVector.broadcast(S, a[ao + 4]);
            c4 = x.fma(lo, c4);
            x = FloatVector.broadcast(S, a[ao + 5]);
            c5 = x.fma(lo, c5);
        }
        c0.intoArray(tile, 0 * L);
        c1.intoArray(tile, 2 * L);
        c2.intoArray(tile, 4 * L);
        c3.intoArray(tile, 6 * L);
        c4.intoArray(tile, 8 * L);
        c5.intoArray(tile, 10 * L);
    }

    static void kernel4x2(float[] a, int ai, float[] b, int bi, int kc, float[] tile) {
        FloatVector c0lo = FloatVector.zero(S), c0hi = FloatVector.zero(S);
        FloatVector c1lo = FloatVector.zero(S), c1hi = FloatVector.zero(S);
        FloatVector c2lo = FloatVector.zero(S), c2hi = FloatVector.zero(S);
        FloatVector c3lo = FloatVector.zero(S), c3hi = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = bi + p * 2 * L;
            int ao = ai + p * MR;
            FloatVector lo = FloatVector.fromArray(S, b, bo);
            FloatVector hi = FloatVector.fromArray(S, b, bo + L);
            FloatVector x;
            x = FloatVector.broadcast(S, a[ao]);
            c0lo = x.fma(lo, c0lo);
            c0hi = x.fma(hi, c0hi);
            x = FloatVector.broadcast(S, a[ao + 1]);
            c1lo = x.fma(lo, c1lo);
            c1hi = x.fma(hi, c1hi);
            x = FloatVector.broadcast(S, a[ao + 2]);
            c2lo = x.fma(lo, c2lo);
            c2hi = x.fma(hi, c2hi);
            x = FloatVector.broadcast(S, a[ao + 3]);
            c3lo = x.fma(lo, c3lo);
            c3hi = x.fma(hi, c3hi);
        }
        c0lo.intoArray(tile, 0 * L);
        c0hi.intoArray(tile, 1 * L);
        c1lo.intoArray(tile, 2 * L);
        c1hi.intoArray(tile, 3 * L);
        c2lo.intoArray(tile, 4 * L);
        c2hi.intoArray(tile, 5 * L);
        c3lo.intoArray(tile, 6 * L);
        c3hi.intoArray(tile, 7 * L);
    }

    static void kernel4x1(float[] a, int ai, float[] b, int bi, int kc, float[] tile) {
        FloatVector c0 = FloatVector.zero(S);
        FloatVector c1 = FloatVector.zero(S);
        FloatVector c2 = FloatVector.zero(S);
        FloatVector c3 = FloatVector.zero(S);
        for (int p = 0; p < kc; p++) {
            int bo = bi + p * 2 * L;
            int ao = ai + p * MR;
            FloatVector lo = FloatVector.fromArray(S, b, bo);
            FloatVector x;
            x = FloatVector.broadcast(S, a[ao]);
            c0 = x.fma(lo, c0);
            x = FloatVector.broadcast(S, a[ao + 1]);
            c1 = x.fma(lo, c1);
            x = FloatVector.broadcast(S, a[ao + 2]);
            c2 = x.fma(lo, c2);
            x = FloatVector.broadcast(S, a[ao + 3]);
            c3 = x.fma(lo, c3);
        }
        c0.intoArray(tile, 0 * L);
        c1.intoArray(tile, 2 * L);
        c2.intoArray(tile, 4 * L);
        c3.intoArray(tile, 6 * L);
    }
}
