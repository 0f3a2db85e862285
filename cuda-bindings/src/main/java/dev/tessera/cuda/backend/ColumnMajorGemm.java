package dev.tessera.cuda.backend;

import dev.tessera.core.TesseraException;

/**
 * The arguments of one cuBLAS (column-major) GEMM call that computes a row-major product.
 * A row-major matrix with row stride {@code ld} is, read column-major, its own transpose with the
 * same leading dimension; so row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, and the
 * call swaps the operands and m with n while keeping each operand's transpose flag.
 *
 * <p>Fields name the cuBLAS call's parameters: its {@code A} is the row-major B, its {@code B} the
 * row-major A.
 *
 * <pre>{@code
 * // row-major C[m,n] = A[m,k] · B[k,n]
 * var g = ColumnMajorGemm.of(false, false, m, n, k, k, 0, n, 0, n, 0);
 * // cublasSgemm(h, g.transa(), g.transb(), g.m(), g.n(), g.k(), 1, B, g.lda(), A, g.ldb(), 0, C, g.ldc())
 * }</pre>
 */
record ColumnMajorGemm(int transa, int transb, int m, int n, int k,
                       int lda, long strideA, int ldb, long strideB, int ldc, long strideC) {
    /** cublasOperation_t values. */
    static final int OP_N = 0;
    static final int OP_T = 1;

    /**
     * Maps the row-major {@code Backend.gemm} arguments: C[m,n] = op(A)·op(B) with row strides
     * lda/ldb/ldc and batch strides strideA/B/C, all in elements.
     */
    static ColumnMajorGemm of(boolean transA, boolean transB, int m, int n, int k,
                              long lda, long strideA, long ldb, long strideB, long ldc, long strideC) {
        return new ColumnMajorGemm(transB ? OP_T : OP_N, transA ? OP_T : OP_N, n, m, k,
                leading(ldb, transB ? k : n, "ldb"), strideB,
                leading(lda, transA ? m : k, "lda"), strideA,
                leading(ldc, n, "ldc"), strideC);
    }

    /** cuBLAS wants ld >= max(1, rows of the column-major operand) and an int. */
    private static int leading(long ld, int columnMajorRows, String name) {
        long v = Math.max(ld, Math.max(1, columnMajorRows));
        if (v > Integer.MAX_VALUE) {
            throw new TesseraException("gemm: " + name + " = " + ld + " exceeds cuBLAS's int range");
        }
        return (int) v;
    }
}
