package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class LinearCrossEntropyTest {
    private static final int N = 37, C = 24, V = 50;

    private static Tensor targets(Rng rng) {
        long[] t = rng.randint(V, N).toLongArray();
        t[3] = -100;
        t[20] = -100;
        return Tensor.ofLongs(t, N);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 5, 36, 37, 0})
    void chunkedLossAndGradientsEqualTheUnchunkedOnes(int chunkRows) {
        try (var scope = Scope.open()) {
            Rng rng = new Rng(7);
            Tensor t = targets(rng);
            Tensor x1 = rng.randn(N, C).requiresGrad(true), w1 = rng.randn(V, C).mul(0.3f).requiresGrad(true);
            Tensor x2 = x1.detach().copy().requiresGrad(true), w2 = w1.detach().copy().requiresGrad(true);

            Tensor plain = x1.matmul(w1.t()).crossEntropy(t);
            plain.backward();
            Tensor fused = LinearCrossEntropy.forward(x2, w2, t, -100, chunkRows);
            fused.backward();

            assertEquals(plain.item(), fused.item(), Math.abs(plain.item()) * 1e-6, "loss");
            assertTrue(Close.maxRelativeToScale(x1.grad().toFloatArray(), x2.grad().toFloatArray()) <= 1e-6, "dx");
            assertTrue(Close.maxRelativeToScale(w1.grad().toFloatArray(), w2.grad().toFloatArray()) <= 1e-6, "dw");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {5, 0})
    void anUpstreamGradientOtherThanOneScalesTheGradients(int chunkRows) {
        // the trainer weights each micro-batch's loss (loss * tokens / all tokens) before backward
        try (var scope = Scope.open()) {
            Rng rng = new Rng(9);
            Tensor t = targets(rng);
            Tensor x1 = rng.randn(N, C).requiresGrad(true), w1 = rng.randn(V, C).mul(0.3f).requiresGrad(true);
            Tensor x2 = x1.detach().copy().requiresGrad(true), w2 = w1.detach().copy().requiresGrad(true);

            x1.matmul(w1.t()).crossEntropy(t).mul(0.37f).backward();
            LinearCrossEntropy.forward(x2, w2, t, -100, chunkRows).mul(0.37f).backward();

            assertTrue(Close.maxRelativeToScale(x1.grad().toFloatArray(), x2.grad().toFloatArray()) <= 1e-6, "dx");
            assertTrue(Close.maxRelativeToScale(w1.grad().toFloatArray(), w2.grad().toFloatArray()) <= 1e-6, "dw");
        }
    }

    @Test
    void withoutGradModeNoGradientIsComputed() {
        try (var scope = Scope.open()) {
            Rng rng = new Rng(13);
            Tensor t = targets(rng);
            Tensor x = rng.randn(N, C).requiresGrad(true), w = rng.randn(V, C).requiresGrad(true);
            long before = OpStats.gemmCalls();
            Tensor loss;
            try (var ng = Autograd.noGrad()) {
                loss = LinearCrossEntropy.forward(x, w, t, -100, 10);
            }
            assertEquals(4, OpStats.gemmCalls() - before, "one logits product per chunk of 10 rows, nothing else");
            assertTrue(Float.isFinite(loss.item()));
        }
    }

    @Test
    void aFrozenBf16WeightGivesWhatItsF32WideningGives() {
        try (var scope = Scope.open()) {
            Rng rng = new Rng(11);
            Tensor t = targets(rng);
            Tensor wide = rng.randn(V, C).cast(DType.BF16).cast(DType.F32);
            Tensor narrow = wide.cast(DType.BF16);
            Tensor x1 = rng.randn(N, C).requiresGrad(true);
            Tensor x2 = x1.detach().copy().requiresGrad(true);

            Tensor a = x1.linearCrossEntropy(wide, t);
            a.backward();
            Tensor b = x2.linearCrossEntropy(narrow, t);
            b.backward();

            assertEquals(a.item(), b.item(), 0f);
            assertArrayEquals(x1.grad().toFloatArray(), x2.grad().toFloatArray(), 0f);
        }
    }

    @Test
    void everyTargetIgnoredGivesNaNAsPyTorch() {
        try (var scope = Scope.open()) {
            Rng rng = new Rng(3);
            long[] none = new long[N];
            java.util.Arrays.fill(none, -100);
            Tensor loss = rng.randn(N, C).linearCrossEntropy(rng.randn(V, C), Tensor.ofLongs(none, N));
            assertTrue(Float.isNaN(loss.item()));
        }
    }
}
