package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

/**
 * Row ops on the values where PyTorch's answer is a convention rather than arithmetic: argmax's
 * first maximum and first NaN, softmax of a fully masked row, log-softmax and cross-entropy with
 * an infinite logit; and the CPU backend's counters.
 */
class RowOpsEdgesTest {
    private static final float INF = Float.POSITIVE_INFINITY, NAN = Float.NaN;

    @Test
    void argmaxTakesTheFirstMaximumAndTheFirstNaN() {
        Tensor x = Tensor.of(new float[] {
            1, 3, 3, 2,
            NAN, 1, 2, 9,
            1, NAN, 5, NAN,
            -INF, -INF, -INF, -INF}, 4, 4);
        assertArrayEquals(new long[] {1, 0, 1, 0}, x.argmax(1, false).toLongArray());
    }

    @Test
    void aFullyMaskedRowSoftmaxesToNaN() {
        // the masked row last, so that a write past its end would leave the tensor
        float[] s = Tensor.of(new float[] {0, 0, 0, -INF, -INF, -INF}, 2, 3).softmax(1).toFloatArray();
        for (int i = 0; i < 3; i++) {
            assertEquals(1f / 3, s[i], 1e-7f);
            assertTrue(Float.isNaN(s[3 + i]), "masked row " + i + ": " + s[3 + i]);
        }
    }

    @Test
    void anInfiniteLogitDominatesLogSoftmaxAndCrossEntropy() {
        float[] ls = Tensor.of(new float[] {0, INF, 1}, 1, 3).logSoftmax(1).toFloatArray();
        assertEquals(-INF, ls[0]);
        assertTrue(Float.isNaN(ls[1]), "inf - inf");
        assertEquals(-INF, ls[2]);
        float loss = Tensor.of(new float[] {0, INF, 1}, 1, 3).crossEntropy(Tensor.ofLongs(new long[] {0}, 1)).item();
        assertEquals(INF, loss, "log-sum-exp is +inf, the target's logit finite");
    }

    @Test
    void theCpuBackendCountsProductsAndPeakMemory() {
        CpuBackend cpu = (CpuBackend) Backends.cpu();
        assertEquals(Device.CPU, cpu.device());
        long flops = cpu.matmulFlops();
        Tensor.zeros(3, 5).matmul(Tensor.zeros(5, 2));
        assertEquals(2L * 3 * 5 * 2, cpu.matmulFlops() - flops, "2 m n k of one product");
        cpu.resetPeakLiveBytes();
        assertEquals(cpu.liveBytes(), cpu.peakLiveBytes());
        Tensor big = Tensor.zeros(1 << 16);
        assertTrue(cpu.peakLiveBytes() >= cpu.liveBytes() && cpu.peakLiveBytes() >= 4L << 16);
        big.release();
        assertTrue(cpu.peakLiveBytes() >= 4L << 16, "the peak stays after the release");
    }

    @Test
    void reducingAZeroDimTensorGivesItBackAndACloneCarriesTheGradient() {
        Tensor s = Tensor.scalar(2.5);
        assertSame(s, s.max(0, false));
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        x.copy().mul(2f).sum().backward();
        assertArrayEquals(new float[] {2, 2, 2}, x.grad().toFloatArray());
    }
}
