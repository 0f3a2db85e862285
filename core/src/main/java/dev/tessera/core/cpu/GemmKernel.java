package dev.tessera.core.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The GEMM micro-kernels: an MR x (2 vectors) tile of C kept in registers while it sums over a
 * packed A panel and a packed B panel. MR is 12 where the vector registers are wide enough to
 * be 32 (AVX-512, NEON, SVE): 24 accumulators, two B vectors and one broadcast A value. With
 * 8-lane vectors (AVX2, 16 registers) MR is 6, so 12 accumulators fit without spilling.
 */
final class GemmKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    static final int MR = L == 8 ? 6 : 12;

    private GemmKernel() {}

    /**
     * tile[r*NR + j] = sum over p < kc of a[ai + p*MR + r] * b[bi + p*NR + j] for r < MR and
     * j < NR: the packed panels written by Gemm.packA / Gemm.packB.
     */
    static void kernel(float[] a, int ai, float[] b, int bi, int kc, float[] tile) {
        if (MR == 12) {
            kernel12(a, ai, b, bi, kc, tile);
        } else {
            kernel6(a, ai, b, bi, kc, tile);
        }
    }

    private static void kernel12(float[] a, int ai, float[] b, int bi, int kc, float[] tile) {
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

    private static void kernel6(float[] a, int ai, float[] b, int bi, int kc, float[] tile) {
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
}
