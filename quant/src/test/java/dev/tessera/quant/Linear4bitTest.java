package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Conv1D;
import dev.tessera.nn.Init;
import dev.tessera.nn.Linear;
import dev.tessera.nn.ParameterSource;
import dev.tessera.core.Rng;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class Linear4bitTest {

    /** A layer over N(0, 0.05²) weights [out, in] with a bias, quantized as asked. */
    static Linear4bit layer(int out, int in, QuantType type, int blocksize, boolean dq, DType compute, long seed) {
        float[] w = Quantized4BitTest.gaussian(out * in, seed);
        for (int i = 0; i < w.length; i++) {
            w[i] *= 0.05f;
        }
        Quantized4Bit q = Quantized4Bit.quantize(w, new long[] {out, in}, type, blocksize, dq);
        Tensor bias = Scope.unowned(() -> Tensor.of(Quantized4BitTest.gaussian(out, seed + 1), out));
        return new Linear4bit(q, bias, compute);
    }

    static Tensor input(long seed, int... shape) {
        int n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        return Tensor.of(Quantized4BitTest.gaussian(n, seed), shape);
    }

    static double maxAbsDiff(Tensor a, Tensor b) {
        assertArrayEquals(a.shape(), b.shape());
        float[] x = a.toFloatArray();
        float[] y = b.toFloatArray();
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            worst = Math.max(worst, Math.abs(x[i] - y[i]));
        }
        return worst;
    }

    @Test
    void forwardEqualsDequantizeThenMatmulWithin1em5() {
        qt().withFixedSeed(5).withExamples(40)
                .forAll(integers().between(1, 300), integers().between(1, 300), integers().between(1, 40), longs().all())
                .checkAssert((out, in, m, seed) -> {
                    QuantType type = (seed & 1) == 0 ? QuantType.NF4 : QuantType.FP4;
                    int blocksize = 32 << (int) ((seed >>> 1) & 3);
                    Linear4bit l = layer(out, in, type, blocksize, (seed & 8) == 0, DType.F32, seed);
                    try (var scope = Scope.open()) {
                        Tensor x = input(seed + 7, m, in);
                        Tensor y = l.forward(x);
                        Tensor ref = x.matmul(l.weight().t()).add(l.bias());
                        assertTrue(maxAbsDiff(ref, y) <= 1e-5, "max |diff| " + maxAbsDiff(ref, y));
                    } finally {
                        l.release();
                    }
                });
    }

    @Test
    void forwardKeepsLeadingDimensions() {
        Linear4bit l = layer(48, 80, QuantType.NF4, 64, true, DType.F32, 1);
        try (var scope = Scope.open()) {
            Tensor x = input(2, 2, 3, 80);
            Tensor y = l.forward(x);
            assertArrayEquals(new int[] {2, 3, 48}, y.shape());
            assertTrue(maxAbsDiff(l.referenceForward(x), y) <= 1e-5);
            // a transposed (non-contiguous) input gives the same rows
            Tensor xt = input(3, 80, 5).t();
            assertTrue(maxAbsDiff(l.referenceForward(xt), l.forward(xt)) <= 1e-5);
        } finally {
            l.release();
        }
    }

    @Test
    void inputGradientEqualsTheF32ReferenceOnTheDequantizedWeight() {
        qt().withFixedSeed(6).withExamples(25)
                .forAll(integers().between(1, 200), integers().between(1, 200), integers().between(1, 20), longs().all())
                .checkAssert((out, in, m, seed) -> {
                    QuantType type = (seed & 1) == 0 ? QuantType.NF4 : QuantType.FP4;
                    Linear4bit l = layer(out, in, type, 64, (seed & 2) == 0, DType.F32, seed);
                    try (var scope = Scope.open()) {
                        Tensor r = input(seed + 3, m, out);
                        Tensor x = input(seed + 5, m, in).requiresGrad(true);
                        l.forward(x).mul(r).sum().backward();
                        Tensor xRef = input(seed + 5, m, in).requiresGrad(true);
                        Tensor w = l.weight(); // F32 [out, in], no grad
                        xRef.matmul(w.t()).add(l.bias()).mul(r).sum().backward();
                        assertTrue(maxAbsDiff(xRef.grad(), x.grad()) <= 1e-5, "max |diff| " + maxAbsDiff(xRef.grad(), x.grad()));
                        x.zeroGrad();
                        xRef.zeroGrad();
                    } finally {
                        l.zeroGrad();
                        l.release();
                    }
                });
    }

    @Test
    void noWeightGradientIsComputed() {
        Linear4bit l = layer(64, 96, QuantType.NF4, 64, true, DType.F32, 11);
        try (var scope = Scope.open()) {
            assertFalse(l.packedWeight().requiresGrad());
            assertEquals(DType.U8, l.packedWeight().dtype());
            Tensor x = input(12, 4, 96).requiresGrad(true);
            Tensor y = l.forward(x);
            y.sum().backward();
            assertNotNull(x.grad());
            assertNull(l.packedWeight().grad());
            assertNull(l.bias().grad());
            assertTrue(l.trainableParameters().isEmpty());
            // nothing to differentiate: no tape at all
            assertFalse(l.forward(input(13, 4, 96)).requiresGrad());
        } finally {
            releaseWithGrads(l);
        }
    }

    @Test
    void aTrainableBiasStillGetsItsGradient() {
        Linear4bit l = layer(16, 64, QuantType.FP4, 64, false, DType.F32, 21);
        l.bias().requiresGrad(true);
        try (var scope = Scope.open()) {
            l.forward(input(22, 3, 64)).sum().backward();
            assertArrayEquals(new float[] {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, l.bias().grad().toFloatArray());
            assertNull(l.packedWeight().grad());
        } finally {
            releaseWithGrads(l);
        }
    }

    private static void releaseWithGrads(Linear4bit l) {
        l.zeroGrad();
        l.release();
    }

    @Test
    void bf16ComputeRoundsInputWeightAndOutputLikeTheReference() {
        Linear4bit l = layer(40, 70, QuantType.NF4, 64, true, DType.BF16, 31);
        try (var scope = Scope.open()) {
            Tensor x = input(32, 5, 70);
            Tensor y = l.forward(x);
            Tensor ref = l.referenceForward(x);
            assertTrue(maxAbsDiff(ref, y) <= 1e-5, "max |diff| " + maxAbsDiff(ref, y));
            Tensor product = y.sub(l.bias());
            Tensor f32 = x.matmul(l.weight().t());
            double scale = Arrays.stream(toDoubles(f32.toFloatArray())).map(Math::abs).max().orElse(1);
            // BF16 keeps 8 significant bits: the products differ from F32 by about 2^-8 relative
            double diff = maxAbsDiff(f32, product);
            assertTrue(diff > 0 && diff < 0.05 * scale, "bf16 vs f32 difference " + diff + " at scale " + scale);
        } finally {
            l.release();
        }
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    @Test
    void weightIsADequantizedCopyInOutInLayout() {
        Linear4bit l = layer(24, 40, QuantType.NF4, 32, true, DType.BF16, 41);
        try (var scope = Scope.open()) {
            Tensor w = l.weight();
            assertArrayEquals(new int[] {24, 40}, w.shape());
            assertArrayEquals(l.quantized().dequantize(), w.toFloatArray());
            assertFalse(w.requiresGrad());
            w.fill(0);
            assertArrayEquals(l.quantized().dequantize(), l.weight().toFloatArray());
        } finally {
            l.release();
        }
    }

    @Test
    void conv1dIsQuantizedTransposedInOutInLayout() {
        Rng rng = new Rng(51);
        Conv1D conv = new Conv1D(ParameterSource.random(rng), 32, 96, Init.normal(0.2));
        Linear4bit q = Linear4bit.quantize(conv, QuantType.NF4, 64, true, DType.F32);
        try (var scope = Scope.open()) {
            assertArrayEquals(new long[] {96, 32}, q.quantState().shape());
            assertEquals(32, q.inFeatures());
            assertEquals(96, q.outFeatures());
            Tensor x = input(52, 4, 32);
            Tensor expected = conv.forward(x);
            Tensor got = q.forward(x);
            // NF4 error is about 10% of a weight's block absmax
            assertTrue(maxAbsDiff(expected, got) < 0.25 * maxAbs(expected), "max diff " + maxAbsDiff(expected, got));
            assertTrue(maxAbsDiff(q.referenceForward(x), got) <= 1e-5);
            float[] transposed = conv.weight().contiguous().toFloatArray(); // [out, in]
            assertArrayEquals(Quantized4Bit.quantize(transposed, new long[] {96, 32}, QuantType.NF4, 64, true).packed(),
                    q.quantized().packed());
        } finally {
            q.release();
            conv.release();
        }
    }

    static double maxAbs(Tensor t) {
        double m = 0;
        for (float v : t.toFloatArray()) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    @Test
    void addToWeightRequantizesTheSum() {
        Linear4bit l = layer(32, 128, QuantType.NF4, 64, true, DType.F32, 61);
        try (var scope = Scope.open()) {
            long packedBytes = l.packedWeight().numel();
            Tensor before = l.weight();
            Tensor delta = input(62, 32, 128).mul(0.01f);
            l.addToWeight(delta);
            assertEquals(packedBytes, l.packedWeight().numel());
            Tensor expected = before.add(delta);
            Quantized4Bit direct = Quantized4Bit.quantize(expected.toFloatArray(), new long[] {32, 128}, QuantType.NF4, 64, true);
            assertArrayEquals(direct.packed(), l.quantized().packed());
            assertArrayEquals(direct.dequantize(), l.weight().toFloatArray());
            assertThrows(TesseraException.class, () -> l.addToWeight(input(63, 128, 32)));
        } finally {
            l.release();
        }
    }

    @Test
    void takesOverTheLayersBiasAndItsFrozenState() {
        Linear dense = new Linear(20, 10, true, new Rng(71));
        dense.bias().requiresGrad(false);
        Linear4bit q = Linear4bit.quantize(dense, QuantType.FP4, 32, false, DType.F32);
        try {
            assertTrue(q.bias() == dense.bias());
            assertFalse(q.bias().requiresGrad());
            assertEquals(2, q.namedParameters().size());
            assertEquals(DType.U8, q.namedParameters().get("weight").dtype());
            assertArrayEquals(new int[] {100, 1}, q.namedParameters().get("weight").shape());
        } finally {
            q.release();
            dense.release();
        }
    }

    @Test
    void rejectsInputsOfTheWrongWidth() {
        Linear4bit l = layer(8, 64, QuantType.NF4, 64, false, DType.F32, 81);
        try (var scope = Scope.open()) {
            TesseraException e = assertThrows(TesseraException.class, () -> l.forward(input(82, 2, 63)));
            assertTrue(e.getMessage().contains("[out, in] = [8, 64]"), e.getMessage());
        } finally {
            l.release();
        }
    }
}
