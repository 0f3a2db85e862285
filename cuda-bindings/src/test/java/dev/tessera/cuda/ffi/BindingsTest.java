package dev.tessera.cuda.ffi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The hand-written bindings against the C they bind: each descriptor against the prototype in
 * its javadoc, the driver's prototypes and constants against the real cuda.h, and symbols
 * against the real libraries where they are installed.
 */
class BindingsTest {
    private static final List<Class<?>> HEADERS = List.of(cuda_h.class, cublas_api_h.class, nvrtc_h.class);

    /** name -> descriptor of every function a header class binds. */
    private static Map<String, FunctionDescriptor> descriptors(Class<?> header) throws ReflectiveOperationException {
        Map<String, FunctionDescriptor> out = new LinkedHashMap<>();
        for (Method m : header.getDeclaredMethods()) {
            if (Modifier.isPublic(m.getModifiers()) && m.getName().endsWith("$descriptor")) {
                out.put(m.getName().substring(0, m.getName().length() - "$descriptor".length()),
                        (FunctionDescriptor) m.invoke(null));
            }
        }
        return out;
    }

    /** name -> C prototype from the javadoc of each {@code NAME$descriptor} in the header class's source. */
    private static Map<String, CPrototype> javadocPrototypes(Class<?> header) throws IOException {
        Path source = Path.of("src/main/java/dev/tessera/cuda/ffi", header.getSimpleName() + ".java");
        assumeTrue(Files.isRegularFile(source), "binding sources not present (run from the module folder)");
        Matcher m = Pattern.compile("Function descriptor for:\\s*\\n\\s*\\* \\{@snippet lang=c :\\s*\\n\\s*\\* (.+?)\\n"
                + "\\s*\\* }\\s*\\n\\s*\\*/\\s*\\n\\s*public static FunctionDescriptor (\\w+)\\$descriptor").matcher(Files.readString(source));
        Map<String, CPrototype> out = new LinkedHashMap<>();
        while (m.find()) {
            out.put(m.group(2), CPrototype.parse(m.group(1)));
        }
        return out;
    }

    @Test
    void everyDescriptorMatchesTheCPrototypeInItsJavadoc() throws Exception {
        for (Class<?> header : HEADERS) {
            Map<String, FunctionDescriptor> bound = descriptors(header);
            Map<String, CPrototype> documented = javadocPrototypes(header);
            assertEquals(bound.keySet(), documented.keySet(), header.getSimpleName() + ": functions with a javadoc prototype");
            for (var e : bound.entrySet()) {
                CPrototype proto = documented.get(e.getKey());
                assertEquals(e.getKey(), proto.name(), "javadoc names another function");
                assertEquals(CPrototype.shape(proto.descriptor()), CPrototype.shape(e.getValue()), e.getKey());
            }
        }
    }

    @Test
    void theBindingsCoverWhatTheBackendCalls() throws Exception {
        assertTrue(descriptors(cuda_h.class).keySet().containsAll(List.of("cuInit", "cuDeviceGet", "cuDeviceGetCount",
                "cuDeviceGetName", "cuDevicePrimaryCtxRetain", "cuCtxSetCurrent", "cuMemAlloc_v2", "cuMemFree_v2",
                "cuMemcpyHtoD_v2", "cuMemcpyDtoH_v2", "cuMemcpyDtoD_v2", "cuMemcpyHtoDAsync_v2", "cuMemcpyDtoHAsync_v2",
                "cuMemcpyDtoDAsync_v2", "cuMemsetD8_v2", "cuMemAllocHost_v2", "cuMemFreeHost", "cuMemGetInfo_v2",
                "cuModuleLoadData", "cuModuleGetFunction", "cuLaunchKernel", "cuStreamCreate", "cuStreamSynchronize",
                "cuStreamDestroy_v2", "cuStreamWaitEvent", "cuEventCreate", "cuEventRecord", "cuEventDestroy_v2",
                "cuDevicePrimaryCtxRelease_v2", "cuGetErrorString")));
        assertEquals(java.util.Set.of("cublasCreate_v2", "cublasDestroy_v2", "cublasSetStream_v2",
                "cublasSgemm_v2", "cublasSgemmStridedBatched"), descriptors(cublas_api_h.class).keySet());
        assertTrue(descriptors(nvrtc_h.class).keySet().containsAll(List.of("nvrtcCreateProgram", "nvrtcCompileProgram",
                "nvrtcGetPTXSize", "nvrtcGetPTX", "nvrtcGetProgramLogSize", "nvrtcGetProgramLog", "nvrtcDestroyProgram")));
    }

    /** cuda.h of the installed toolkit, up to its internal legacy declarations. */
    private static String cudaHeader() throws IOException {
        for (String dir : new String[] {System.getenv("CUDA_HOME"), "/usr/local/cuda"}) {
            if (dir != null && Files.isRegularFile(Path.of(dir, "include", "cuda.h"))) {
                String text = Files.readString(Path.of(dir, "include", "cuda.h"));
                int internal = text.indexOf("\n#if defined(__CUDA_API_VERSION_INTERNAL)\n");
                return internal < 0 ? text : text.substring(0, internal);
            }
        }
        return Assumptions.abort("cuda.h not found (no CUDA toolkit here)");
    }

    @Test
    void driverPrototypesMatchTheInstalledCudaHeader() throws Exception {
        String header = cudaHeader();
        Map<String, String> renames = new LinkedHashMap<>();
        Matcher define = Pattern.compile("(?m)^\\s*#define\\s+(cu\\w+)\\s+(?:__CUDA_API_PT(?:DS|SZ)\\()?(cu\\w+)\\)?\\s*$").matcher(header);
        while (define.find()) {
            renames.put(define.group(1), define.group(2));
        }
        Map<String, CPrototype> declared = new LinkedHashMap<>();
        Matcher decl = Pattern.compile("CUresult\\s+CUDAAPI\\s+(\\w+)\\s*\\(([^;{}]*?)\\)\\s*;").matcher(header);
        while (decl.find()) {
            String symbol = renames.getOrDefault(decl.group(1), decl.group(1));
            declared.put(symbol, CPrototype.parse("CUresult " + symbol + "(" + decl.group(2) + ")"));
        }
        for (var e : descriptors(cuda_h.class).entrySet()) {
            CPrototype real = declared.get(e.getKey());
            assertTrue(real != null, "cuda.h declares no " + e.getKey() + " (after its version macros)");
            assertEquals(CPrototype.shape(real.descriptor()), CPrototype.shape(e.getValue()), e.getKey());
        }
    }

    @Test
    void driverConstantsMatchTheInstalledCudaHeader() throws Exception {
        String header = cudaHeader();
        for (Method m : cuda_h.class.getDeclaredMethods()) {
            if (m.getParameterCount() == 0 && m.getReturnType() == int.class && m.getName().matches("CUDA_\\w+|CU_\\w+")) {
                Matcher v = Pattern.compile("\\b" + m.getName() + "\\s*=\\s*(0x[0-9a-fA-F]+|\\d+)").matcher(header);
                assertTrue(v.find(), m.getName() + " not in cuda.h");
                assertEquals(Integer.decode(v.group(1)), m.invoke(null), m.getName());
            }
        }
    }

    @Test
    void everyBoundSymbolExistsInTheInstalledLibraries() throws Exception {
        int checked = 0;
        for (Class<?> header : HEADERS) {
            NativeLibrary library = (NativeLibrary) header.getDeclaredField("LIBRARY").get(null);
            if (!library.isAvailable()) {
                continue;
            }
            for (String name : descriptors(header).keySet()) {
                MemorySegment address = (MemorySegment) header.getMethod(name + "$address").invoke(null);
                assertNotEquals(MemorySegment.NULL, address, library.location().orElseThrow() + " lacks " + name);
                checked++;
            }
        }
        assumeTrue(checked > 0, "none of libcuda, libcublas, libnvrtc is installed here");
    }

    @Test
    void aMissingLibraryGivesAReasonInsteadOfALinkError() {
        assumeFalse(CudaLibraries.DRIVER.isAvailable(), "libcuda.so.1 is installed here");
        String reason = CudaLibraries.DRIVER.unavailableReason().orElseThrow();
        assertTrue(reason.startsWith("libcuda.so.1 not found"), reason);
        assertEquals(MemorySegment.NULL, cuda_h.cuInit$address());
        TesseraException e = assertThrows(TesseraException.class, () -> cuda_h.cuInit(0));
        assertTrue(e.getMessage().startsWith("cuInit: libcuda.so.1 not found"), e.getMessage());
    }

    @Test
    void failedStatusesNameTheCallAndTheError() {
        TesseraException e = assertThrows(TesseraException.class,
                () -> CudaStatus.checkCublas(cublas_api_h.CUBLAS_STATUS_INVALID_VALUE(), "cublasSgemm_v2"));
        assertEquals("cublasSgemm_v2 failed: CUBLAS_STATUS_INVALID_VALUE", e.getMessage());
        assertEquals(7, ((CudaStatus.CudaException) e).status());
        CudaStatus.checkCublas(0, "cublasCreate_v2");
        CudaStatus.check(0, "cuInit");
        CudaStatus.checkNvrtc(0, "nvrtcCompileProgram");
        String driver = assertThrows(TesseraException.class, () -> CudaStatus.check(100, "cuInit")).getMessage();
        assertTrue(driver.startsWith("cuInit failed: "), driver);
        if (CudaLibraries.DRIVER.isAvailable()) {
            assertTrue(driver.contains("CUDA_ERROR_NO_DEVICE"), driver);
        } else {
            assertEquals("cuInit failed: CUresult 100", driver);
        }
    }

    @Test
    void nvrtcNamesItsErrors() {
        assumeTrue(CudaLibraries.NVRTC.isAvailable(), "libnvrtc is not installed here");
        String message = assertThrows(TesseraException.class,
                () -> CudaStatus.checkNvrtc(nvrtc_h.NVRTC_ERROR_COMPILATION(), "nvrtcCompileProgram")).getMessage();
        assertEquals("nvrtcCompileProgram failed: NVRTC_ERROR_COMPILATION", message);
    }

    @Test
    void cublasWithoutAGpuFailsWithAStatusNotACrash() {
        assumeTrue(CudaLibraries.CUBLAS.isAvailable(), "libcublas is not installed here");
        assumeFalse(dev.tessera.core.Backends.isAvailable(dev.tessera.core.Device.cuda(0)), "a GPU is present");
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(java.lang.foreign.ValueLayout.ADDRESS);
            int status = cublas_api_h.cublasCreate_v2(handle);
            assertNotEquals(cublas_api_h.CUBLAS_STATUS_SUCCESS(), status);
            String message = assertThrows(TesseraException.class, () -> CudaStatus.checkCublas(status, "cublasCreate_v2")).getMessage();
            assertTrue(message.startsWith("cublasCreate_v2 failed: CUBLAS_STATUS_"), message);
        }
    }

    @Test
    void theJextractScriptListsExactlyTheBoundFunctions() throws Exception {
        Path script = Path.of("../scripts/jextract-cuda.sh");
        assumeTrue(Files.isRegularFile(script) && Files.isExecutable(Path.of("/bin/bash")), "scripts/ not beside the module");
        Process p = new ProcessBuilder("/bin/bash", script.toString(), "--check").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
    }
}
