package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The fused linear cross-entropy when only one operand wants a gradient, and its argument checks
 * (the boundary of the target range, dtypes, shapes); the reference is the unfused
 * {@code x.matmul(w.t()).crossEntropy(t)}.
 */
class LinearCrossEntropyEdgesTest {
    private static final int N = 11, C = 6, V = 9;

    private static Tensor targets() {
        long[] t = new long[N];
        for (int i = 0; i < N; i++) {
            t[i] = i == 4 ? -100 : (i * 5L) % V;
        }
        t[N - 1] = V - 1; // the last class
        return Tensor.ofLongs(t, N);
    }

    @Test
    void onlyTheOperandThatRequiresGradGetsOne() {
        for (boolean xWants : new boolean[] {true, false}) {
            try (var scope = Scope.open()) {
                Rng rng = new Rng(xWants ? 1 : 2);
                Tensor t = targets();
                Tensor x0 = rng.randn(N, C), w0 = rng.randn(V, C).mul(0.4f);
                Tensor x1 = x0.copy().requiresGrad(xWants), w1 = w0.copy().requiresGrad(!xWants);
                Tensor x2 = x0.copy().requiresGrad(xWants), w2 = w0.copy().requiresGrad(!xWants);
                // the fused op first, so its gradient buffers cannot reuse the reference's freed blocks
                LinearCrossEntropy.forward(x2, w2, t, -100, 4).backward();
                x1.matmul(w1.t()).crossEntropy(t).backward();
                Tensor wanted1 = xWants ? x1 : w1, wanted2 = xWants ? x2 : w2;
                assertTrue(Close.maxRelativeToScale(wanted1.grad().toFloatArray(), wanted2.grad().toFloatArray()) <= 1e-6,
                        xWants ? "dx" : "dw");
                assertNull((xWants ? w2 : x2).grad());
            }
        }
    }

    @Test
    void targetsMustBeClassesOrTheIgnoreIndex() {
        Tensor x = Tensor.zeros(2, C), w = Tensor.zeros(V, C);
        LinearCrossEntropy.forward(x, w, Tensor.ofLongs(new long[] {0, V - 1}, 2), -100, 0); // both ends are classes
        for (long bad : new long[] {V, -1, -101}) {
            TesseraException e = assertThrows(TesseraException.class,
                    () -> LinearCrossEntropy.forward(x, w, Tensor.ofLongs(new long[] {0, bad}, 2), -100, 0));
            assertTrue(e.getMessage().contains("target " + bad + " out of range for " + V + " classes"), e.getMessage());
        }
    }

    @Test
    void operandsOfTheWrongDtypeOrShapeAreRefused() {
        Tensor x = Tensor.zeros(2, C), w = Tensor.zeros(V, C), t = Tensor.ofLongs(new long[] {0, 1}, 2);
        assertThrows(TesseraException.class, () -> LinearCrossEntropy.forward(x.cast(DType.BF16), w, t, -100, 0));
        assertThrows(TesseraException.class, () -> LinearCrossEntropy.forward(x, w.cast(DType.I64), t, -100, 0));
        assertThrows(TesseraException.class,
                () -> LinearCrossEntropy.forward(x, w.cast(DType.BF16).requiresGrad(true), t, -100, 0));
        assertThrows(TesseraException.class, () -> LinearCrossEntropy.forward(x, w, t.cast(DType.F32), -100, 0));
        assertThrows(TesseraException.class, () -> LinearCrossEntropy.forward(x, Tensor.zeros(V, C + 1), t, -100, 0));
        assertThrows(TesseraException.class, () -> LinearCrossEntropy.forward(x, w, Tensor.ofLongs(new long[] {0}, 1), -100, 0));
        assertThrows(TesseraException.class, () -> LinearCrossEntropy.forward(x.reshape(2, C, 1), w, t, -100, 0));
        assertThrows(TesseraException.class, () -> LinearCrossEntropy.forward(x, w.reshape(V, C, 1), t, -100, 0));
        assertThrows(TesseraException.class, () -> LinearCrossEntropy.forward(x, w, t.reshape(2, 1), -100, 0));
    }
}
