package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The bit patterns the fill kernel writes are the ones the CPU backend's fill writes. */
class FillBitsTest {
    @Test
    void fillBitsMatchTheCpuBackendForEveryDtype() {
        double[] values = {1, -1, 0.5, -0.0, 3.7, -2.5, 255.9, 300, 1e10, -1e10, Double.NaN, Double.POSITIVE_INFINITY, 65504.5};
        try (var scope = Scope.open()) {
            for (DType t : DType.values()) {
                for (double v : values) {
                    Tensor cpu = Tensor.empty(t, 1);
                    Backends.cpu().fill(cpu, v);
                    MemorySegment s = cpu.dataSegment();
                    long expected = switch (t.byteSize()) {
                        case 1 -> s.get(ValueLayout.JAVA_BYTE, 0) & 0xFFL;
                        case 2 -> s.get(ValueLayout.JAVA_SHORT_UNALIGNED, 0) & 0xFFFFL;
                        case 4 -> s.get(ValueLayout.JAVA_INT_UNALIGNED, 0) & 0xFFFFFFFFL;
                        default -> s.get(ValueLayout.JAVA_LONG_UNALIGNED, 0);
                    };
                    assertEquals(expected, CudaBackend.fillBits(t, v), t + " " + v);
                }
            }
        }
    }

    @Test
    void rowKernelsUseWholeWarps() {
        for (int n : new int[] {1, 31, 32, 33, 256, 257, 768, 8192, 50257}) {
            int t = CudaBackend.rowThreads(n);
            assertEquals(0, t % 32, "n " + n);
            assertEquals(true, t >= 32 && t <= 1024, "n " + n);
        }
    }
}
