package dev.tessera.cuda.backend;

import static dev.tessera.cuda.ffi.CudaStatus.check;

import dev.tessera.core.TesseraException;
import dev.tessera.cuda.ffi.CudaLibraries;
import dev.tessera.cuda.ffi.cuda_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The process-wide state of the CUDA driver: loaded, initialised once with {@code cuInit}, and
 * how many devices it sees; or why not. Nothing here throws: a machine without libcuda.so.1 or
 * without a GPU gets a one-line reason.
 *
 * @param driverVersion cuDriverGetVersion (1000*major + 10*minor), 0 when unusable
 * @param deviceCount   devices the driver reports, 0 when unusable
 * @param failure       why CUDA is unusable, or null
 */
record CudaDriver(int driverVersion, int deviceCount, String failure) {
    private static volatile CudaDriver state;

    static CudaDriver get() {
        CudaDriver s = state;
        if (s == null) {
            synchronized (CudaDriver.class) {
                s = state;
                if (s == null) {
                    s = initialise();
                    state = s;
                }
            }
        }
        return s;
    }

    boolean usable() {
        return failure == null;
    }

    private static CudaDriver initialise() {
        var reason = CudaLibraries.DRIVER.unavailableReason();
        if (reason.isPresent()) {
            return new CudaDriver(0, 0, reason.get());
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            check(cuda_h.cuDriverGetVersion(out), "cuDriverGetVersion");
            int version = out.get(ValueLayout.JAVA_INT, 0);
            check(cuda_h.cuInit(0), "cuInit");
            check(cuda_h.cuDeviceGetCount(out), "cuDeviceGetCount");
            int count = out.get(ValueLayout.JAVA_INT, 0);
            if (count <= 0) {
                return new CudaDriver(version, 0, "no CUDA device (the driver reports 0 devices)");
            }
            CudaLibraries.emulator().ifPresent(path -> System.err.println("[tessera] CUDA device 0 is EMULATED ("
                    + path.getFileName() + "): Tessera's kernels run on the CPU, slowly; a test device, not a GPU"));
            return new CudaDriver(version, count, null);
        } catch (TesseraException e) {
            return new CudaDriver(0, 0, e.getMessage());
        }
    }

    /** "13.0" from 13000. */
    static String versionString(int driverVersion) {
        return driverVersion / 1000 + "." + (driverVersion % 1000) / 10;
    }
}
