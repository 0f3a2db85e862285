package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tessera.core.BackendProvider;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.cuda.ffi.CudaLibraries;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** On a machine without a usable GPU the provider says why, and nothing crashes. */
class CudaBackendProviderTest {

    private static BackendProvider provider() {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.kind().equals("cuda")) {
                return p;
            }
        }
        throw new AssertionError("no cuda BackendProvider registered in META-INF/services");
    }

    @Test
    void theProviderIsRegisteredForCuda() {
        assertEquals(CudaBackendProvider.class, provider().getClass());
    }

    @Test
    void withoutAGpuTheBackendIsEmptyWithAReason() {
        assumeFalse(CudaDriver.get().usable(), "CUDA is usable here");
        BackendProvider p = provider();
        assertTrue(p.backend(0).isEmpty());
        String reason = p.unavailableReason();
        assertEquals(CudaDriver.get().failure(), reason);
        assertFalse(reason.isBlank());
        assertFalse(reason.contains("\n"), "one line: " + reason);
        if (!CudaLibraries.DRIVER.isAvailable()) {
            assertTrue(reason.startsWith("libcuda.so.1 not found"), reason);
        }
    }

    @Test
    void backendsReportCudaUnavailableAndTensorsSayWhy() {
        assumeFalse(CudaDriver.get().usable(), "CUDA is usable here");
        assertFalse(Backends.isAvailable(Device.cuda(0)));
        TesseraException e = assertThrows(TesseraException.class, () -> Tensor.zeros(DType.F32, Device.cuda(0), 2, 2));
        assertTrue(e.getMessage().startsWith("device cuda:0 is not usable: "), e.getMessage());
        assertTrue(e.getMessage().contains(CudaDriver.get().failure()), e.getMessage());
    }

    @Test
    void aDeviceIndexBeyondTheCountIsRefused() {
        assumeTrue(CudaDriver.get().usable(), "no usable CUDA here");
        BackendProvider p = provider();   // ServiceLoader makes a new instance per call; the reason is per instance
        assertTrue(p.backend(CudaDriver.get().deviceCount()).isEmpty());
        assertTrue(p.unavailableReason().startsWith("no CUDA device " + CudaDriver.get().deviceCount()), p.unavailableReason());
    }

    // ---- a stand-in libcuda.so.1, to drive the real downcalls and status checks without a GPU

    private static final String STUB = """
            #include <stdlib.h>
            #include <string.h>
            static int mode(void) { const char* m = getenv("TESSERA_STUB_MODE"); return m && !strcmp(m, "nodevice"); }
            int cuDriverGetVersion(int* v) { *v = 12040; return 0; }
            int cuInit(unsigned int flags) { return flags != 0 ? 1 : (mode() ? 100 : 0); }
            int cuDeviceGetCount(int* n) { *n = 0; return 0; }
            int cuGetErrorName(int e, const char** s) {
                if (e == 100) { *s = "CUDA_ERROR_NO_DEVICE"; return 0; }
                return 1;
            }
            int cuGetErrorString(int e, const char** s) {
                if (e == 100) { *s = "no CUDA-capable device is detected"; return 0; }
                return 1;
            }
            """;

    private static Path compileStub(Path dir) throws IOException, InterruptedException {
        Path cc = Stream.of("/usr/bin/cc", "/usr/bin/gcc", "/usr/local/bin/cc").map(Path::of).filter(Files::isExecutable)
                .findFirst().orElse(null);
        assumeTrue(cc != null, "no C compiler here");
        Files.writeString(dir.resolve("stub.c"), STUB);
        Process p = new ProcessBuilder(cc.toString(), "-shared", "-fPIC", "-o", "libcuda.so.1", "stub.c")
                .directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "cc failed: " + out);
        return dir;
    }

    private static String probe(Path libDir, String mode) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "--add-modules", "jdk.incubator.vector",
                "-Dtessera.cuda.libpath=" + libDir, "-cp", System.getProperty("java.class.path"), ProviderProbe.class.getName());
        pb.environment().put("TESSERA_STUB_MODE", mode);
        pb.redirectErrorStream(true);
        pb.environment().remove("TESSERA_CUDA_EMULATOR");   // the probe is about the stub driver
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe timed out");
        assertEquals(0, p.exitValue(), "probe JVM failed:\n" + out);
        return out;
    }

    /** Whether the probe JVM would find a real libcuda.so.1 before the stub (the emulated device is not one). */
    private static boolean realDriverInstalled() {
        if (CudaLibraries.emulator().isEmpty()) {
            return CudaLibraries.DRIVER.isAvailable();
        }
        try {
            SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    @Test
    void aDriverWithoutDevicesIsReportedWithTheDriversOwnErrorName(@TempDir Path dir) throws Exception {
        assumeFalse(realDriverInstalled(), "a real libcuda.so.1 is installed and would be found first");
        String out = probe(compileStub(dir), "nodevice");
        assertTrue(out.contains("backend=false"), out);
        assertTrue(out.contains("reason=cuInit failed: CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)"), out);
        assertTrue(out.contains("available=false"), out);
    }

    @Test
    void aDriverThatCountsNoDevicesIsReported(@TempDir Path dir) throws Exception {
        assumeFalse(realDriverInstalled(), "a real libcuda.so.1 is installed and would be found first");
        String out = probe(compileStub(dir), "zero");
        assertTrue(out.contains("reason=no CUDA device (the driver reports 0 devices)"), out);
        assertTrue(out.contains("available=false"), out);
    }

    @Test
    void aDriverLackingAFunctionIsReportedNotCrashed(@TempDir Path dir) throws Exception {
        assumeFalse(realDriverInstalled(), "a real libcuda.so.1 is installed and would be found first");
        Files.writeString(dir.resolve("stub.c"), "int cuDriverGetVersion(int* v) { *v = 12040; return 0; }\n");
        Path cc = Path.of("/usr/bin/cc");
        assumeTrue(Files.isExecutable(cc), "no C compiler here");
        Process p = new ProcessBuilder(cc.toString(), "-shared", "-fPIC", "-o", "libcuda.so.1", "stub.c").directory(dir.toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0);
        String out = probe(dir, "");
        assertTrue(out.contains("reason=cuInit: libcuda.so.1 has no symbol cuInit"), out);
    }
}
