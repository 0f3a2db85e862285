package dev.tessera.core.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The naive twin of {@link Gemm}: a triple loop with double accumulation, kept as the
 * correctness reference for the blocked kernel. Same contract and argument checks as
 * {@link Gemm}; slow by design, so use it only in tests and for tiny checks.
 *
 * <pre>{@code
 * ReferenceGemm.sgemm(false, false, m, n, k, a, 0, k, b, 0, n, 0f, c, 0, n);
 * }</pre>
 */
public final class ReferenceGemm {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private ReferenceGemm() {}

    /** C[m,n] = beta*C + op(A)[m,k] · op(B)[k,n]; see {@link Gemm#sgemm}. */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k,
            MemorySegment a, long aOffset, long lda,
            MemorySegment b, long bOffset, long ldb,
            float beta, MemorySegment c, long cOffset, long ldc) {
        sgemmBatched(1, transA, transB, m, n, k, a, aOffset, lda, 0, b, bOffset, ldb, 0,
                beta, c, cOffset, ldc, 0);
    }

    /** Batched form; see {@link Gemm#sgemmBatched}. */
    public static void sgemmBatched(int batch, boolean transA, boolean transB, int m, int n, int k,
            MemorySegment a, long aOffset, long lda, long strideA,
            MemorySegment b, long bOffset, long ldb, long strideB,
            float beta, MemorySegment c, long cOffset, long ldc, long strideC) {
        GemmChecks.check(batch, transA, transB, m, n, k, a, aOffset, lda, strideA,
                b, bOffset, ldb, strideB, c, cOffset, ldc, strideC);
        for (int t = 0; t < batch; t++) {
            long a0 = aOffset + t * strideA, b0 = bOffset + t * strideB, c0 = cOffset + t * strideC;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double sum = 0;
                    for (int p = 0; p < k; p++) {
                        long ai = transA ? a0 + (long) p * lda + i : a0 + (long) i * lda + p;
                        long bi = transB ? b0 + (long) j * ldb + p : b0 + (long) p * ldb + j;
                        sum += (double) a.getAtIndex(F32, ai) * b.getAtIndex(F32, bi);
                    }
                    long ci = c0 + (long) i * ldc + j;
                    if (beta != 0f) {
                        sum += (double) beta * c.getAtIndex(F32, ci);
                    }
                    c.setAtIndex(F32, ci, (float) sum);
                }
            }
        }
    }
}
