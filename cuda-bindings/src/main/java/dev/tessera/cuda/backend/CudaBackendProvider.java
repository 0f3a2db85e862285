package dev.tessera.cuda.backend;

import dev.tessera.core.Backend;
import dev.tessera.core.BackendProvider;
import java.util.Optional;

/**
 * Offers {@link CudaBackend} to core's {@link dev.tessera.core.Backends} through
 * {@link java.util.ServiceLoader}. Asking for a device never throws and never crashes the JVM on
 * a machine without the driver or a GPU: the backend is empty and {@link #unavailableReason()}
 * says why ("libcuda.so.1 not found ...", "cuInit failed: CUDA_ERROR_NO_DEVICE ...").
 */
public final class CudaBackendProvider implements BackendProvider {
    private volatile String reason;

    @Override
    public String kind() {
        return "cuda";
    }

    @Override
    public Optional<Backend> backend(int index) {
        try {
            return Optional.of(CudaBackend.forDevice(index));
        } catch (RuntimeException | LinkageError e) {
            reason = e.getMessage() == null ? e.toString() : e.getMessage();
            return Optional.empty();
        }
    }

    @Override
    public String unavailableReason() {
        String r = reason;
        if (r != null) {
            return r;
        }
        CudaDriver driver = CudaDriver.get();
        return driver.usable() ? "available" : driver.failure();
    }
}
