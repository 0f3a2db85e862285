package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.core.TesseraException;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The row-major to column-major mapping, checked by running the mapped call through a reference column-major BLAS. */
class ColumnMajorGemmTest {

    /** Reference column-major SGEMM with cuBLAS's argument meaning (alpha = 1), batched by strides. */
    private static void columnMajorSgemm(ColumnMajorGemm g, int batch, float[] a, int aOff, float[] b, int bOff,
                                         float beta, float[] c, int cOff) {
        for (int p = 0; p < batch; p++) {
            for (int j = 0; j < g.n(); j++) {
                for (int i = 0; i < g.m(); i++) {
                    double acc = 0;
                    for (int l = 0; l < g.k(); l++) {
                        // op(A)[i,l], op(B)[l,j]; element (r, col) of a column-major matrix is at r + col*ld
                        float av = g.transa() == ColumnMajorGemm.OP_N ? a[(int) (aOff + p * g.strideA() + i + (long) l * g.lda())]
                                : a[(int) (aOff + p * g.strideA() + l + (long) i * g.lda())];
                        float bv = g.transb() == ColumnMajorGemm.OP_N ? b[(int) (bOff + p * g.strideB() + l + (long) j * g.ldb())]
                                : b[(int) (bOff + p * g.strideB() + j + (long) l * g.ldb())];
                        acc += (double) av * bv;
                    }
                    int at = (int) (cOff + p * g.strideC() + i + (long) j * g.ldc());
                    c[at] = (float) (acc + (beta == 0 ? 0 : beta * c[at]));
                }
            }
        }
    }

    /** Row-major reference with Backend.gemm's meaning. */
    private static void rowMajorSgemm(boolean transA, boolean transB, int batch, int m, int n, int k, float[] a, long lda,
                                      long strideA, float[] b, long ldb, long strideB, float beta, float[] c, long ldc, long strideC) {
        for (int p = 0; p < batch; p++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double acc = 0;
                    for (int l = 0; l < k; l++) {
                        float av = transA ? a[(int) (p * strideA + l * lda + i)] : a[(int) (p * strideA + i * lda + l)];
                        float bv = transB ? b[(int) (p * strideB + j * ldb + l)] : b[(int) (p * strideB + l * ldb + j)];
                        acc += (double) av * bv;
                    }
                    int at = (int) (p * strideC + i * ldc + j);
                    c[at] = (float) (acc + (beta == 0 ? 0 : beta * c[at]));
                }
            }
        }
    }

    private static float[] random(Random r, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextFloat() * 2 - 1;
        }
        return x;
    }

    @Test
    void theSwappedColumnMajorCallComputesTheRowMajorProduct() {
        Random r = new Random(7);
        for (int trial = 0; trial < 300; trial++) {
            boolean transA = r.nextBoolean(), transB = r.nextBoolean();
            int m = 1 + r.nextInt(7), n = 1 + r.nextInt(7), k = 1 + r.nextInt(7), batch = 1 + r.nextInt(3);
            long lda = (transA ? m : k) + r.nextInt(3), ldb = (transB ? k : n) + r.nextInt(3), ldc = n + r.nextInt(3);
            long aSize = (transA ? k : m) * lda, bSize = (transB ? n : k) * ldb, cSize = m * ldc;
            long strideA = r.nextInt(4) == 0 ? 0 : aSize + r.nextInt(3);   // 0 broadcasts A over the batch
            long strideB = r.nextInt(4) == 0 ? 0 : bSize + r.nextInt(3);
            long strideC = cSize + r.nextInt(3);
            float beta = r.nextBoolean() ? 0f : 0.5f;
            float[] a = random(r, (int) (aSize + strideA * (batch - 1)));
            float[] b = random(r, (int) (bSize + strideB * (batch - 1)));
            float[] c0 = random(r, (int) (cSize + strideC * (batch - 1)));
            float[] expected = c0.clone(), actual = c0.clone();
            rowMajorSgemm(transA, transB, batch, m, n, k, a, lda, strideA, b, ldb, strideB, beta, expected, ldc, strideC);
            ColumnMajorGemm g = ColumnMajorGemm.of(transA, transB, m, n, k, lda, strideA, ldb, strideB, ldc, strideC);
            columnMajorSgemm(g, batch, b, 0, a, 0, beta, actual, 0);   // cuBLAS's A is our B
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], actual[i], 1e-5f, "trial " + trial + " element " + i + " of " + g);
            }
        }
    }

    @Test
    void aPlainProductSwapsOperandsAndDimensions() {
        // C[2,3] = A[2,4] · B[4,3], all row-major and packed
        assertEquals(new ColumnMajorGemm(ColumnMajorGemm.OP_N, ColumnMajorGemm.OP_N, 3, 2, 4, 3, 0, 4, 0, 3, 0),
                ColumnMajorGemm.of(false, false, 2, 3, 4, 4, 0, 3, 0, 3, 0));
        // a linear layer: y[2,3] = x[2,4] · W[3,4]ᵀ
        assertEquals(new ColumnMajorGemm(ColumnMajorGemm.OP_T, ColumnMajorGemm.OP_N, 3, 2, 4, 4, 0, 4, 0, 3, 0),
                ColumnMajorGemm.of(false, true, 2, 3, 4, 4, 0, 4, 0, 3, 0));
    }

    @Test
    void leadingDimensionsBeyondIntRangeAreRejected() {
        assertThrows(TesseraException.class, () -> ColumnMajorGemm.of(false, false, 2, 3, 4, 1L << 33, 0, 3, 0, 3, 0));
    }
}
