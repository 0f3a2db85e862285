package dev.tessera.cuda.backend;

import dev.tessera.core.Backends;
import dev.tessera.core.Device;
import java.util.ServiceLoader;

/** Prints what a fresh JVM's CUDA provider says about cuda:0 (run by {@link CudaBackendProviderTest}). */
public final class ProviderProbe {
    private ProviderProbe() {}

    public static void main(String[] args) {
        for (var p : ServiceLoader.load(dev.tessera.core.BackendProvider.class)) {
            if (p.kind().equals("cuda")) {
                System.out.println("backend=" + p.backend(0).isPresent());
                System.out.println("reason=" + p.unavailableReason());
            }
        }
        System.out.println("available=" + Backends.isAvailable(Device.cuda(0)));
    }
}
