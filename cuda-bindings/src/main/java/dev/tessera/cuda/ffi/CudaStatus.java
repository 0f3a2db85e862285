package dev.tessera.cuda.ffi;

import dev.tessera.core.TesseraException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * Turns the status codes of the driver API, cuBLAS and NVRTC into {@link TesseraException}s
 * whose one-line message names the call and the library's own error name and text, e.g.
 * {@code cuMemAlloc_v2(1073741824 bytes) failed: CUDA_ERROR_OUT_OF_MEMORY (out of memory)}.
 */
public final class CudaStatus {
    private CudaStatus() {}

    /** cublasStatus_t names (cublas_api.h); cuBLAS 11 has no cublasGetStatusString to ask. */
    private static final Map<Integer, String> CUBLAS_NAMES = Map.ofEntries(
            Map.entry(0, "CUBLAS_STATUS_SUCCESS"), Map.entry(1, "CUBLAS_STATUS_NOT_INITIALIZED"),
            Map.entry(3, "CUBLAS_STATUS_ALLOC_FAILED"), Map.entry(7, "CUBLAS_STATUS_INVALID_VALUE"),
            Map.entry(8, "CUBLAS_STATUS_ARCH_MISMATCH"), Map.entry(11, "CUBLAS_STATUS_MAPPING_ERROR"),
            Map.entry(13, "CUBLAS_STATUS_EXECUTION_FAILED"), Map.entry(14, "CUBLAS_STATUS_INTERNAL_ERROR"),
            Map.entry(15, "CUBLAS_STATUS_NOT_SUPPORTED"), Map.entry(16, "CUBLAS_STATUS_LICENSE_ERROR"));

    /** Throws unless {@code result} is CUDA_SUCCESS. */
    public static void check(int result, String call) {
        if (result != cuda_h.CUDA_SUCCESS()) {
            throw new CudaException(call + " failed: " + driverError(result), result);
        }
    }

    /** Throws unless {@code status} is CUBLAS_STATUS_SUCCESS. */
    public static void checkCublas(int status, String call) {
        if (status != cublas_api_h.CUBLAS_STATUS_SUCCESS()) {
            throw new CudaException(call + " failed: " + cublasError(status), status);
        }
    }

    /** Throws unless {@code result} is NVRTC_SUCCESS. */
    public static void checkNvrtc(int result, String call) {
        if (result != nvrtc_h.NVRTC_SUCCESS()) {
            throw new CudaException(call + " failed: " + nvrtcError(result), result);
        }
    }

    /** "CUDA_ERROR_X (text)" from the driver, or "CUresult N" when the driver cannot say. */
    public static String driverError(int result) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ValueLayout.ADDRESS);
            String name = cuda_h.cuGetErrorName(result, p) == 0 ? cString(p.get(ValueLayout.ADDRESS, 0)) : null;
            String text = cuda_h.cuGetErrorString(result, p) == 0 ? cString(p.get(ValueLayout.ADDRESS, 0)) : null;
            if (name == null) {
                return "CUresult " + result;
            }
            return text == null ? name : name + " (" + text + ")";
        } catch (RuntimeException e) {
            return "CUresult " + result;
        }
    }

    public static String cublasError(int status) {
        return CUBLAS_NAMES.getOrDefault(status, "cublasStatus_t " + status);
    }

    public static String nvrtcError(int result) {
        try {
            String text = cString(nvrtc_h.nvrtcGetErrorString(result));
            return text == null ? "nvrtcResult " + result : text;
        } catch (RuntimeException e) {
            return "nvrtcResult " + result;
        }
    }

    /** A NUL-terminated string the library owns (static error texts), or null for NULL. */
    static String cString(MemorySegment pointer) {
        if (pointer.equals(MemorySegment.NULL)) {
            return null;
        }
        return pointer.reinterpret(4096).getString(0);
    }

    /** A failed CUDA call; {@link #status()} is the raw code. */
    public static final class CudaException extends TesseraException {
        private final int status;

        CudaException(String message, int status) {
            super(message);
            this.status = status;
        }

        public int status() {
            return status;
        }
    }
}
