package dev.tessera.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Gradcheck;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import org.junit.jupiter.api.Test;

class LayersTest {
    @Test
    void linearComputesXTimesWeightTransposedPlusBias() {
        try (var scope = Scope.open()) {
            Linear lin = new Linear(Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3), Tensor.of(new float[] {10, 20}, 2));
            float[] y = lin.forward(Tensor.of(new float[] {1, 1, 1, 0, 1, 0}, 2, 3)).toFloatArray();
            assertArrayEquals(new float[] {16, 35, 12, 25}, y);
            assertEquals(3, lin.inFeatures());
            assertEquals(2, lin.outFeatures());
        }
    }

    @Test
    void conv1dStoresInOutAndAgreesWithLinearOnTheTransposedWeight() {
        Rng rng = new Rng(4);
        try (var scope = Scope.open()) {
            Conv1D conv = new Conv1D(ParameterSource.random(rng), 5, 3, Init.normal(1));
            assertArrayEquals(new int[] {5, 3}, conv.storedWeight().shape());
            assertArrayEquals(new int[] {3, 5}, conv.weight().shape());
            Linear lin = new Linear(conv.weight().detach().copy(), conv.bias().detach().copy());
            Tensor x = rng.randn(2, 4, 5);
            Tensor yc = conv.forward(x), yl = lin.forward(x);
            assertArrayEquals(yl.toFloatArray(), yc.toFloatArray(), 1e-5f);
            yc.sum().backward();
            yl.sum().backward();
            assertArrayEquals(lin.weight().grad().toFloatArray(), conv.storedWeight().grad().t().copy().toFloatArray(), 1e-5f);
            assertArrayEquals(lin.bias().grad().toFloatArray(), conv.bias().grad().toFloatArray(), 1e-5f);
        }
    }

    @Test
    void linearGradientsPassGradcheck() {
        Rng rng = new Rng(5);
        Tensor x = rng.randn(2, 3, 4).requiresGrad(true);
        Tensor w = rng.randn(5, 4).requiresGrad(true);
        Tensor b = rng.randn(5).requiresGrad(true);
        Gradcheck.Result r = Gradcheck.check(in -> LinearOp.forward(in[0], in[1], in[2], true), new Tensor[] {x, w, b}, 1e-2, 1e-2, 1e-2);
        assertTrue(r.ok(), r.toString());
        Tensor wt = rng.randn(4, 5).requiresGrad(true);
        r = Gradcheck.check(in -> LinearOp.forward(in[0].transpose(0, 1), in[1], null, false), new Tensor[] {x, wt}, 1e-2, 1e-2, 1e-2);
        assertTrue(r.ok(), r.toString());
    }

    @Test
    void frozenLinearWeightGetsNoGradient() {
        Rng rng = new Rng(6);
        try (var scope = Scope.open()) {
            Linear lin = new Linear(4, 3, true, rng);
            lin.requiresGrad(false);
            Tensor x = rng.randn(2, 4).requiresGrad(true);
            lin.forward(x).sum().backward();
            assertNull(lin.weight().grad());
            assertTrue(x.grad() != null);
        }
    }

    @Test
    void pytorchDefaultInitIsBoundedByOneOverSqrtIn() {
        Linear lin = new Linear(16, 8, true, new Rng(7));
        for (float v : lin.weight().toFloatArray()) {
            assertTrue(Math.abs(v) <= 0.25f);
        }
        lin.release();
    }

    @Test
    void layerNormAndRmsNormStartAsIdentityScales() {
        try (var scope = Scope.open()) {
            ParameterSource src = ParameterSource.random(new Rng(0));
            Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 4);
            float[] ln = new LayerNorm(src, 4, 1e-5f).forward(x).toFloatArray();
            assertEquals(0, ln[0] + ln[1] + ln[2] + ln[3], 1e-5);
            float[] rms = new RmsNorm(src, 4, 0).forward(x).toFloatArray();
            double r = Math.sqrt((1 + 4 + 9 + 16) / 4.0);
            assertEquals(4 / r, rms[3], 1e-5);
        }
    }
}
