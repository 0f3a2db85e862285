package dev.tessera.core;

import dev.tessera.core.cpu.CpuBackend;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;

/** Finds the {@link Backend} of a device: the CPU one built in, others by {@link ServiceLoader}. */
public final class Backends {
    private static final Backend CPU = new CpuBackend();
    private static final Map<Device, Backend> CACHE = new ConcurrentHashMap<>();

    private Backends() {}

    public static Backend cpu() {
        return CPU;
    }

    /** The backend for {@code device}; a clear error when its provider is missing or the device unusable. */
    public static Backend of(Device device) {
        if (device.isCpu()) {
            return CPU;
        }
        return CACHE.computeIfAbsent(device, d -> {
            for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
                if (p.kind().equals(d.kind())) {
                    return p.backend(d.index()).orElseThrow(
                            () -> new TesseraException("device " + d + " is not usable: " + p.unavailableReason()));
                }
            }
            throw new TesseraException("no backend for device " + d + " (is tessera-cuda-bindings on the class path?)");
        });
    }

    /** True when {@code device} has a usable backend. */
    public static boolean isAvailable(Device device) {
        try {
            of(device);
            return true;
        } catch (TesseraException e) {
            return false;
        }
    }
}
