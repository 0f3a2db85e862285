package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the tests that hold the CUDA backend's ops to the CPU backend's share: both backends, a
 * skip (not a failure) where no CUDA device is usable, and a scope per test for its tensors.
 */
abstract class CudaAgainstCpu {
    static final Device CUDA = Device.cuda(0);
    static Backend cpu;
    /** Null where no CUDA device is usable. */
    static CudaBackend gpu;
    private Scope scope;

    @BeforeAll
    static void findGpu() {
        if (Backends.isAvailable(CUDA)) {
            cpu = Backends.cpu();
            gpu = (CudaBackend) Backends.of(CUDA);
        }
    }

    /** Per test, so every test reports itself skipped where there is no GPU. */
    @BeforeEach
    void requireGpuAndOpenScope() {
        assumeTrue(gpu != null, () -> "no usable CUDA device: " + CudaDriver.get().failure());
        scope = Scope.open();
    }

    @AfterEach
    void closeScope() {
        if (scope != null) {
            scope.close();
        }
    }

    /** Standard normal values drawn from {@code random}, shaped {@code shape}. */
    static Tensor randn(Random random, int... shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) random.nextGaussian();
        }
        return Tensor.of(x, shape);
    }
}
