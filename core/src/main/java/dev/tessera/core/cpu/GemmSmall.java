package dev.tessera.core.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Tiny products, where packing costs more than it saves: a plain triple loop in float. */
final class GemmSmall {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private GemmSmall() {}

    /** C[m,n] = beta*C + op(A)[m,k] · op(B)[k,n], arguments as in {@link Gemm#sgemm}. */
    static void multiply(boolean transA, boolean transB, int m, int n, int k,
            MemorySegment a, long aOff, long lda, MemorySegment b, long bOff, long ldb,
            float beta, MemorySegment c, long cOff, long ldc) {
        // Element steps along k and along the row/column of each operand.
        long aRow = transA ? 1 : lda, aStep = transA ? lda : 1;
        long bCol = transB ? ldb : 1, bStep = transB ? 1 : ldb;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                long ai = aOff + i * aRow, bi = bOff + j * bCol;
                float sum = 0f;
                for (int p = 0; p < k; p++) {
                    sum = Math.fma(a.getAtIndex(F32, ai), b.getAtIndex(F32, bi), sum);
                    ai += aStep;
                    bi += bStep;
                }
                long ci = cOff + i * ldc + j;
                if (beta == 0f) {
                    c.setAtIndex(F32, ci, sum);
                } else if (beta == 1f) {
                    c.setAtIndex(F32, ci, c.getAtIndex(F32, ci) + sum);
                } else {
                    c.setAtIndex(F32, ci, Math.fma(c.getAtIndex(F32, ci), beta, sum));
                }
            }
        }
    }
}
