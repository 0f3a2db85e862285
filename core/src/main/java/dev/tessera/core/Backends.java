package dev.tessera.core;

import dev.tessera.core.cpu.CpuBackend;
import dev.tessera.core.cpu.FmaPeak;
import dev.tessera.core.cpu.Parallel;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;

/** Finds the {@link Backend} of a device: the CPU one built in, others by {@link ServiceLoader}. */
public final class Backends {
    private static final CpuBackend CPU = new CpuBackend();
    private static final Map<Device, Backend> CACHE = new ConcurrentHashMap<>();

    private Backends() {}

    public static Backend cpu() {
        return CPU;
    }

    /** The CPU backend's caching allocator (for memory statistics: live and peak bytes). */
    public static CachingAllocator cpuAllocator() {
        return CPU.allocator();
    }

    /** Worker threads of the CPU backend (all cores unless {@link #setCpuThreads} said otherwise). */
    public static int cpuThreads() {
        return Parallel.threads();
    }

    /**
     * The CPU's measured F32 FMA throughput in GFLOP/s on all worker threads (an FMA counts 2):
     * the ceiling benchmarks report their share of. Measured on first use (about half a second).
     */
    public static double cpuPeakGflops() {
        return FmaPeak.gflops();
    }

    /** Sizes the CPU backend's worker pool (the CLI's {@code --threads}). */
    public static void setCpuThreads(int threads) {
        Parallel.setThreads(threads);
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
