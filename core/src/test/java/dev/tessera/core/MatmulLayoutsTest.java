package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Products of views in every layout the GEMM call can take without a copy (row-major, column-major,
 * a leading dimension wider than the row, single rows and columns, broadcast batches) and of views
 * that need one (neither layout, batch dims that no single stride walks), against a plain loop
 * over the logical elements.
 */
class MatmulLayoutsTest {

    private static Tensor filled(long seed, int... shape) {
        float[] v = new float[(int) Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) Math.sin(seed * 7.1 + i * 1.37);
        }
        return Tensor.of(v, shape);
    }

    /** a [..., m, k] · b [..., k, n] over broadcast batches, from the logical (contiguous) values. */
    private static float[] reference(Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        int m = as[as.length - 2], k = as[as.length - 1], n = bs[bs.length - 1];
        int[] batch = Shapes.broadcast(java.util.Arrays.copyOf(as, as.length - 2), java.util.Arrays.copyOf(bs, bs.length - 2));
        int[] aFull = java.util.Arrays.copyOf(batch, batch.length + 2), bFull = aFull.clone();
        aFull[batch.length] = m;
        aFull[batch.length + 1] = k;
        bFull[batch.length] = k;
        bFull[batch.length + 1] = n;
        float[] av = a.expand(aFull).contiguous().toFloatArray(), bv = b.expand(bFull).contiguous().toFloatArray();
        int count = (int) Shapes.numel(batch);
        float[] c = new float[count * m * n];
        for (int t = 0; t < count; t++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        s += (double) av[(t * m + i) * k + l] * bv[(t * k + l) * n + j];
                    }
                    c[(t * m + i) * n + j] = (float) s;
                }
            }
        }
        return c;
    }

    private static void agrees(Tensor a, Tensor b, String what) {
        Tensor c = a.matmul(b);
        float[] expected = reference(a, b);
        assertEquals(expected.length, c.numel(), what);
        assertArrayEquals(expected, c.toFloatArray(), 1e-5f, what);
    }

    @Test
    void twoDimensionalViewsInEveryLayout() {
        Tensor a = filled(1, 5, 7), b = filled(2, 7, 3);
        agrees(a, b, "row-major");
        agrees(filled(3, 7, 5).t(), filled(4, 3, 7).t(), "both column-major");
        agrees(filled(5, 5, 10).narrow(1, 2, 7), b, "A with a leading dimension of 10");
        agrees(a, filled(6, 3, 12).narrow(1, 1, 7).t(), "B column-major with a leading dimension of 12");
        agrees(filled(7, 7, 4).narrow(1, 1, 1).t(), b, "A a single row with a column stride of 4");
        agrees(a, filled(8, 3, 7).narrow(0, 1, 1).t(), "B a single column");
        agrees(filled(9, 5, 7, 2).narrow(2, 1, 1).squeeze(2), b, "A with strides (14, 2): copied");
        agrees(a, filled(10, 7, 3, 2).narrow(2, 0, 1).squeeze(2), "B with strides (6, 2): copied");
        agrees(filled(11, 1, 7), filled(12, 7, 1), "a 1 x 1 result");
        agrees(filled(13, 4, 1), filled(14, 1, 6), "an outer product (k = 1)");
        agrees(filled(13, 1, 4).t(), filled(14, 6, 1).t(), "an outer product of transposed vectors");
    }

    @Test
    void vectorsTakeAndDropTheirAddedDimension() {
        Tensor v = filled(1, 7), m = filled(2, 7, 3);
        assertArrayEquals(new int[] {3}, v.matmul(m).shape());
        assertArrayEquals(reference(v.unsqueeze(0), m), v.matmul(m).toFloatArray(), 1e-5f);
        Tensor a = filled(3, 4, 7);
        assertArrayEquals(new int[] {4}, a.matmul(v).shape());
        assertArrayEquals(reference(a, v.unsqueeze(1)), a.matmul(v).toFloatArray(), 1e-5f);
        // two vectors: a dot product, 0-dim, as PyTorch's matmul
        Tensor dot = v.matmul(filled(4, 7));
        assertArrayEquals(new int[] {}, dot.shape());
        assertArrayEquals(reference(v.unsqueeze(0), filled(4, 7).unsqueeze(1)), dot.toFloatArray(), 1e-5f);
    }

    @Test
    void batchedProductsWithBroadcastTransposedAndScatteredBatches() {
        agrees(filled(1, 2, 3, 5, 7), filled(2, 7, 4), "a batch against a matrix: folded into rows");
        agrees(filled(3, 3, 5, 7), filled(4, 3, 7, 4), "same batches");
        agrees(filled(5, 1, 5, 7), filled(6, 3, 7, 4), "A broadcast over B's batch (stride 0)");
        agrees(filled(7, 5, 7), filled(8, 3, 7, 4), "A without batch dims");
        agrees(filled(9, 3, 5, 7), filled(10, 3, 4, 7).transpose(1, 2), "B transposed in each batch");
        agrees(filled(11, 3, 7, 5).transpose(1, 2), filled(12, 3, 7, 4), "A transposed in each batch");
        agrees(filled(13, 2, 3, 5, 7).permute(1, 0, 2, 3), filled(14, 3, 2, 7, 4), "A's batch dims swapped: copied");
        agrees(filled(15, 3, 2, 5, 7), filled(16, 2, 3, 7, 4).permute(1, 0, 2, 3), "B's batch dims swapped: copied");
        agrees(filled(17, 3, 5, 9).narrow(2, 1, 7), filled(18, 3, 7, 4), "A rows 9 apart in each batch");
        agrees(filled(19, 2, 1, 5, 7), filled(20, 1, 3, 7, 4), "both broadcast");
        // one batch stride, but each matrix in neither layout (strides (14, 2) and (8, 2)): copied
        agrees(filled(21, 3, 5, 7, 2).narrow(3, 0, 1).squeeze(3), filled(22, 3, 7, 4), "A's matrices strided");
        agrees(filled(23, 3, 5, 7), filled(24, 3, 7, 4, 2).narrow(3, 1, 1).squeeze(3), "B's matrices strided");
    }
}
