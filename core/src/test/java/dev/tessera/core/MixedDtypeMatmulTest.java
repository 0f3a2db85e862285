package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Frozen BF16/F16 weights in matrix products: widened inside the GEMM, equal to the product with their F32 widening. */
class MixedDtypeMatmulTest {
    @ParameterizedTest
    @CsvSource({"BF16, 1, 40, 24", "BF16, 5, 70, 33", "BF16, 64, 129, 96", "F16, 7, 70, 33", "BF16, 3, 1100, 4000", "F16, 2, 600, 4000"})
    void aSixteenBitWeightMultipliesAsItsF32Widening(DType dtype, int m, int out, int in) {
        try (var scope = Scope.open()) {
            Rng rng = new Rng(m * 31L + out);
            Tensor w = rng.randn(out, in).mul(0.1f).cast(dtype); // [out, in], as a Linear stores it
            Tensor wide = w.cast(DType.F32);
            Tensor x = rng.randn(m, in);
            Tensor g = rng.randn(m, out);
            // y = x · Wᵀ (B transposed) and dx = g · W (B as stored): the two products of a frozen linear layer
            assertArrayEquals(x.matmul(wide.t()).toFloatArray(), x.matmul(w.t()).toFloatArray(), 0f, "x · Wᵀ");
            assertArrayEquals(g.matmul(wide).toFloatArray(), g.matmul(w).toFloatArray(), 0f, "g · W");
        }
    }

    @Test
    void theGradientFlowsToTheF32OperandOnly() {
        try (var scope = Scope.open()) {
            Rng rng = new Rng(5);
            Tensor w = rng.randn(8, 6).cast(DType.BF16);
            Tensor x1 = rng.randn(4, 6).requiresGrad(true);
            Tensor x2 = x1.detach().copy().requiresGrad(true);
            x1.matmul(w.t()).sum().backward();
            x2.matmul(w.cast(DType.F32).t()).sum().backward();
            assertArrayEquals(x2.grad().toFloatArray(), x1.grad().toFloatArray(), 0f);
        }
    }

    @Test
    void aSixteenBitOperandThatNeedsAGradientIsRefused() {
        try (var scope = Scope.open()) {
            Tensor w = Tensor.zeros(4, 4).cast(DType.BF16).requiresGrad(true);
            assertThrows(TesseraException.class, () -> Tensor.zeros(2, 4).matmul(w));
        }
    }

    @Test
    void aFrozenBf16TableLooksUpTheRowsOfItsWidening() {
        try (var scope = Scope.open()) {
            Rng rng = new Rng(9);
            Tensor table = rng.randn(30, 12).cast(DType.BF16);
            Tensor ids = Tensor.ofLongs(new long[] {3, 0, 29, 3, 17, 8}, 2, 3);
            assertArrayEquals(table.cast(DType.F32).embedding(ids).toFloatArray(), table.embedding(ids).toFloatArray(), 0f);
        }
    }
}
