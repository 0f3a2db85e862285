package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class AutogradTest {
    @Test
    void gradientsAccumulateUntilZeroed() {
        Tensor w = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        w.mul(3f).sum().backward();
        w.mul(3f).sum().backward();
        assertArrayEquals(new float[] {6, 6}, w.grad().toFloatArray());
        w.zeroGrad();
        assertNull(w.grad());
    }

    @Test
    void frozenWeightCostsNoWeightGradientGemm() {
        Rng rng = new Rng(1);
        Tensor x = rng.randn(8, 16).requiresGrad(true);
        Tensor frozen = rng.randn(16, 4);          // requiresGrad false
        Tensor trainable = rng.randn(16, 4).requiresGrad(true);

        long before = OpStats.gemmCalls();
        x.matmul(frozen).sum().backward();
        long frozenCalls = OpStats.gemmCalls() - before; // forward + dX only
        assertEquals(2, frozenCalls);

        before = OpStats.gemmCalls();
        x.matmul(trainable).sum().backward();
        assertEquals(3, OpStats.gemmCalls() - before);   // forward + dX + dW

        Tensor input = rng.randn(8, 16);                  // neither input needs dX
        before = OpStats.gemmCalls();
        input.matmul(trainable).sum().backward();
        assertEquals(2, OpStats.gemmCalls() - before);   // forward + dW
    }

    @Test
    void noGradRecordsNothing() {
        Tensor w = Tensor.ones(3).requiresGrad(true);
        Tensor y;
        try (var ng = Autograd.noGrad()) {
            y = w.mul(2f);
        }
        assertFalse(y.requiresGrad());
        assertThrows(TesseraException.class, y::backward);
    }

    @Test
    void castPassesTheGradientThroughUnchanged() {
        // a rounding cast is a step function, so finite differences cannot check it: its rule is identity
        Tensor x = new Rng(4).randn(5).requiresGrad(true);
        x.cast(DType.BF16).cast(DType.F32).mul(Tensor.of(new float[] {1, 2, 3, 4, 5}, 5)).sum().backward();
        assertArrayEquals(new float[] {1, 2, 3, 4, 5}, x.grad().toFloatArray());
    }

    @Test
    void detachCutsTheTape() {
        Tensor w = Tensor.ones(3).requiresGrad(true);
        Tensor d = w.mul(2f).detach();
        assertFalse(d.requiresGrad());
    }

    @Test
    void sharedSubexpressionsSumTheirGradients() {
        Tensor x = Tensor.of(new float[] {3}, 1).requiresGrad(true);
        Tensor y = x.mul(x);          // x used twice
        y.add(y).sum().backward();     // d(2x²)/dx = 4x
        assertEquals(12f, x.grad().item());
    }

    @Test
    void inPlaceUpdateOfLeafNeedsNoGrad() {
        Tensor w = Tensor.ones(2).requiresGrad(true);
        assertThrows(TesseraException.class, () -> w.addInPlace(Tensor.ones(2), 1f));
        try (var ng = Autograd.noGrad()) {
            w.addInPlace(Tensor.ones(2), -0.5f);
        }
        assertArrayEquals(new float[] {0.5f, 0.5f}, w.toFloatArray());
    }

    @Test
    void checkpointedBlockGivesTheSameGradientsAsThePlainOne() {
        Rng rng = new Rng(21);
        Tensor w = rng.randn(6, 6).requiresGrad(true);
        Tensor x = rng.randn(4, 6);                       // the input itself needs no gradient
        java.util.function.UnaryOperator<Tensor> block = in -> in.matmul(w).gelu().matmul(w).tanh();
        block.apply(x).sum().backward();
        float[] plain = w.grad().toFloatArray();
        w.zeroGrad();
        Autograd.recompute(block, x, null).sum().backward();
        assertArrayEquals(plain, w.grad().toFloatArray());

        Tensor xg = rng.randn(4, 6).requiresGrad(true);
        block.apply(xg).sum().backward();
        float[] dx = xg.grad().toFloatArray();
        xg.zeroGrad();
        Autograd.recompute(block, xg, null).sum().backward();
        assertArrayEquals(dx, xg.grad().toFloatArray());
    }

    @Test
    void checkpointReplaysDropoutMasks() {
        Rng drop = new Rng(5);
        Tensor w = Tensor.ones(8).requiresGrad(true);
        Tensor out = Autograd.recompute(in -> in.mul(w).dropout(0.5f, drop), Tensor.ones(8), drop);
        float[] forward = out.toFloatArray();
        out.sum().backward();
        float[] grad = w.grad().toFloatArray();
        assertArrayEquals(forward, grad, "the recomputed mask equals the forward mask");
    }

    @Test
    void autocastRoundsMatmulOperandsAndResultToBf16() {
        Tensor a = Tensor.of(new float[] {1f + 0x1p-10f}, 1, 1).requiresGrad(true);
        Tensor b = Tensor.of(new float[] {3f}, 1, 1);
        Tensor y;
        try (var ac = Autocast.enable(DType.BF16)) {
            y = a.matmul(b);
        }
        assertEquals(3f, y.item(), "1 + 2^-10 rounds to 1 in BF16");
        y.sum().backward();
        assertEquals(3f, a.grad().item());
        assertEquals(3f * (1f + 0x1p-10f), a.detach().matmul(b).item(), "off again after close");
    }
}
