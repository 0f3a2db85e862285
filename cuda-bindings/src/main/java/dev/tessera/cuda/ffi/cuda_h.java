// Hand-written in the shape jextract generates (see scripts/jextract-cuda.sh); keep it regenerable.
package dev.tessera.cuda.ffi;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The CUDA driver API ({@code cuda.h}, {@code libcuda.so.1}): the functions Tessera calls.
 * Versioned entry points carry the suffix the header's macros give them ({@code cuMemAlloc} is
 * {@code cuMemAlloc_v2}), as jextract would bind them. Every method returns the raw
 * {@code CUresult}; {@link CudaStatus#check} turns a failure into an exception.
 *
 * <p>Symbols are looked up on first use of each function; when the library is missing, calling a
 * function throws a {@code TesseraException} with the reason from
 * {@link CudaLibraries#DRIVER} instead of failing to link.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined()) {
 *     MemorySegment count = arena.allocate(cuda_h.C_INT);
 *     CudaStatus.check(cuda_h.cuInit(0), "cuInit");
 *     CudaStatus.check(cuda_h.cuDeviceGetCount(count), "cuDeviceGetCount");
 * }
 * }</pre>
 */
@SuppressWarnings({"unused", "checkstyle:TypeName"})
public final class cuda_h {
    private cuda_h() {}

    static final NativeLibrary LIBRARY = CudaLibraries.DRIVER;

    public static final ValueLayout.OfByte C_CHAR = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfLong C_LONG_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS
            .withTargetLayout(MemoryLayout.sequenceLayout(java.lang.Long.MAX_VALUE, ValueLayout.JAVA_BYTE));

    /**
     * {@snippet lang=c :
     * enum cudaError_enum.CUDA_SUCCESS = 0
     * }
     */
    public static int CUDA_SUCCESS() {
        return 0;
    }

    /**
     * {@snippet lang=c :
     * enum cudaError_enum.CUDA_ERROR_INVALID_VALUE = 1
     * }
     */
    public static int CUDA_ERROR_INVALID_VALUE() {
        return 1;
    }

    /**
     * {@snippet lang=c :
     * enum cudaError_enum.CUDA_ERROR_OUT_OF_MEMORY = 2
     * }
     */
    public static int CUDA_ERROR_OUT_OF_MEMORY() {
        return 2;
    }

    /**
     * {@snippet lang=c :
     * enum cudaError_enum.CUDA_ERROR_NOT_INITIALIZED = 3
     * }
     */
    public static int CUDA_ERROR_NOT_INITIALIZED() {
        return 3;
    }

    /**
     * {@snippet lang=c :
     * enum cudaError_enum.CUDA_ERROR_NO_DEVICE = 100
     * }
     */
    public static int CUDA_ERROR_NO_DEVICE() {
        return 100;
    }

    /**
     * {@snippet lang=c :
     * enum cudaError_enum.CUDA_ERROR_INVALID_DEVICE = 101
     * }
     */
    public static int CUDA_ERROR_INVALID_DEVICE() {
        return 101;
    }

    /**
     * {@snippet lang=c :
     * enum cudaError_enum.CUDA_ERROR_NO_BINARY_FOR_GPU = 209
     * }
     */
    public static int CUDA_ERROR_NO_BINARY_FOR_GPU() {
        return 209;
    }

    /**
     * {@snippet lang=c :
     * enum cudaError_enum.CUDA_ERROR_INVALID_PTX = 218
     * }
     */
    public static int CUDA_ERROR_INVALID_PTX() {
        return 218;
    }

    /**
     * {@snippet lang=c :
     * enum cudaError_enum.CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222
     * }
     */
    public static int CUDA_ERROR_UNSUPPORTED_PTX_VERSION() {
        return 222;
    }

    /**
     * {@snippet lang=c :
     * enum CUdevice_attribute_enum.CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1
     * }
     */
    public static int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK() {
        return 1;
    }

    /**
     * {@snippet lang=c :
     * enum CUdevice_attribute_enum.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16
     * }
     */
    public static int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT() {
        return 16;
    }

    /**
     * {@snippet lang=c :
     * enum CUdevice_attribute_enum.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
     * }
     */
    public static int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR() {
        return 75;
    }

    /**
     * {@snippet lang=c :
     * enum CUdevice_attribute_enum.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76
     * }
     */
    public static int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR() {
        return 76;
    }

    /**
     * {@snippet lang=c :
     * enum CUstream_flags_enum.CU_STREAM_NON_BLOCKING = 1
     * }
     */
    public static int CU_STREAM_NON_BLOCKING() {
        return 1;
    }

    /**
     * {@snippet lang=c :
     * enum CUevent_flags_enum.CU_EVENT_DISABLE_TIMING = 2
     * }
     */
    public static int CU_EVENT_DISABLE_TIMING() {
        return 2;
    }

    private static final class cuGetErrorString {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuGetErrorString");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuGetErrorString", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuGetErrorString(CUresult error, const char **pStr)
     * }
     */
    public static FunctionDescriptor cuGetErrorString$descriptor() {
        return cuGetErrorString.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuGetErrorString(CUresult error, const char **pStr)
     * }
     */
    public static MethodHandle cuGetErrorString$handle() {
        return cuGetErrorString.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuGetErrorString(CUresult error, const char **pStr)
     * }
     */
    public static MemorySegment cuGetErrorString$address() {
        return cuGetErrorString.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuGetErrorString(CUresult error, const char **pStr)
     * }
     */
    public static int cuGetErrorString(int error, MemorySegment pStr) {
        var mh$ = cuGetErrorString.HANDLE;
        try {
            return (int) mh$.invokeExact(error, pStr);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuGetErrorName {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuGetErrorName");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuGetErrorName", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuGetErrorName(CUresult error, const char **pStr)
     * }
     */
    public static FunctionDescriptor cuGetErrorName$descriptor() {
        return cuGetErrorName.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuGetErrorName(CUresult error, const char **pStr)
     * }
     */
    public static MethodHandle cuGetErrorName$handle() {
        return cuGetErrorName.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuGetErrorName(CUresult error, const char **pStr)
     * }
     */
    public static MemorySegment cuGetErrorName$address() {
        return cuGetErrorName.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuGetErrorName(CUresult error, const char **pStr)
     * }
     */
    public static int cuGetErrorName(int error, MemorySegment pStr) {
        var mh$ = cuGetErrorName.HANDLE;
        try {
            return (int) mh$.invokeExact(error, pStr);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuInit {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cuInit");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuInit", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuInit(unsigned int Flags)
     * }
     */
    public static FunctionDescriptor cuInit$descriptor() {
        return cuInit.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuInit(unsigned int Flags)
     * }
     */
    public static MethodHandle cuInit$handle() {
        return cuInit.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuInit(unsigned int Flags)
     * }
     */
    public static MemorySegment cuInit$address() {
        return cuInit.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuInit(unsigned int Flags)
     * }
     */
    public static int cuInit(int Flags) {
        var mh$ = cuInit.HANDLE;
        try {
            return (int) mh$.invokeExact(Flags);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDriverGetVersion {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuDriverGetVersion");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuDriverGetVersion", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuDriverGetVersion(int *driverVersion)
     * }
     */
    public static FunctionDescriptor cuDriverGetVersion$descriptor() {
        return cuDriverGetVersion.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuDriverGetVersion(int *driverVersion)
     * }
     */
    public static MethodHandle cuDriverGetVersion$handle() {
        return cuDriverGetVersion.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuDriverGetVersion(int *driverVersion)
     * }
     */
    public static MemorySegment cuDriverGetVersion$address() {
        return cuDriverGetVersion.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuDriverGetVersion(int *driverVersion)
     * }
     */
    public static int cuDriverGetVersion(MemorySegment driverVersion) {
        var mh$ = cuDriverGetVersion.HANDLE;
        try {
            return (int) mh$.invokeExact(driverVersion);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDeviceGet {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cuDeviceGet");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuDeviceGet", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuDeviceGet(CUdevice *device, int ordinal)
     * }
     */
    public static FunctionDescriptor cuDeviceGet$descriptor() {
        return cuDeviceGet.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuDeviceGet(CUdevice *device, int ordinal)
     * }
     */
    public static MethodHandle cuDeviceGet$handle() {
        return cuDeviceGet.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuDeviceGet(CUdevice *device, int ordinal)
     * }
     */
    public static MemorySegment cuDeviceGet$address() {
        return cuDeviceGet.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuDeviceGet(CUdevice *device, int ordinal)
     * }
     */
    public static int cuDeviceGet(MemorySegment device, int ordinal) {
        var mh$ = cuDeviceGet.HANDLE;
        try {
            return (int) mh$.invokeExact(device, ordinal);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDeviceGetCount {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuDeviceGetCount");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuDeviceGetCount", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuDeviceGetCount(int *count)
     * }
     */
    public static FunctionDescriptor cuDeviceGetCount$descriptor() {
        return cuDeviceGetCount.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuDeviceGetCount(int *count)
     * }
     */
    public static MethodHandle cuDeviceGetCount$handle() {
        return cuDeviceGetCount.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuDeviceGetCount(int *count)
     * }
     */
    public static MemorySegment cuDeviceGetCount$address() {
        return cuDeviceGetCount.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuDeviceGetCount(int *count)
     * }
     */
    public static int cuDeviceGetCount(MemorySegment count) {
        var mh$ = cuDeviceGetCount.HANDLE;
        try {
            return (int) mh$.invokeExact(count);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDeviceGetName {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT,
            cuda_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cuDeviceGetName");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuDeviceGetName", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
     * }
     */
    public static FunctionDescriptor cuDeviceGetName$descriptor() {
        return cuDeviceGetName.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
     * }
     */
    public static MethodHandle cuDeviceGetName$handle() {
        return cuDeviceGetName.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
     * }
     */
    public static MemorySegment cuDeviceGetName$address() {
        return cuDeviceGetName.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
     * }
     */
    public static int cuDeviceGetName(MemorySegment name, int len, int dev) {
        var mh$ = cuDeviceGetName.HANDLE;
        try {
            return (int) mh$.invokeExact(name, len, dev);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDeviceGetAttribute {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT,
            cuda_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cuDeviceGetAttribute");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuDeviceGetAttribute", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
     * }
     */
    public static FunctionDescriptor cuDeviceGetAttribute$descriptor() {
        return cuDeviceGetAttribute.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
     * }
     */
    public static MethodHandle cuDeviceGetAttribute$handle() {
        return cuDeviceGetAttribute.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
     * }
     */
    public static MemorySegment cuDeviceGetAttribute$address() {
        return cuDeviceGetAttribute.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
     * }
     */
    public static int cuDeviceGetAttribute(MemorySegment pi, int attrib, int dev) {
        var mh$ = cuDeviceGetAttribute.HANDLE;
        try {
            return (int) mh$.invokeExact(pi, attrib, dev);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDevicePrimaryCtxRetain {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cuDevicePrimaryCtxRetain");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuDevicePrimaryCtxRetain", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
     * }
     */
    public static FunctionDescriptor cuDevicePrimaryCtxRetain$descriptor() {
        return cuDevicePrimaryCtxRetain.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
     * }
     */
    public static MethodHandle cuDevicePrimaryCtxRetain$handle() {
        return cuDevicePrimaryCtxRetain.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
     * }
     */
    public static MemorySegment cuDevicePrimaryCtxRetain$address() {
        return cuDevicePrimaryCtxRetain.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
     * }
     */
    public static int cuDevicePrimaryCtxRetain(MemorySegment pctx, int dev) {
        var mh$ = cuDevicePrimaryCtxRetain.HANDLE;
        try {
            return (int) mh$.invokeExact(pctx, dev);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuDevicePrimaryCtxRelease_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cuDevicePrimaryCtxRelease_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuDevicePrimaryCtxRelease_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
     * }
     */
    public static FunctionDescriptor cuDevicePrimaryCtxRelease_v2$descriptor() {
        return cuDevicePrimaryCtxRelease_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
     * }
     */
    public static MethodHandle cuDevicePrimaryCtxRelease_v2$handle() {
        return cuDevicePrimaryCtxRelease_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
     * }
     */
    public static MemorySegment cuDevicePrimaryCtxRelease_v2$address() {
        return cuDevicePrimaryCtxRelease_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
     * }
     */
    public static int cuDevicePrimaryCtxRelease_v2(int dev) {
        var mh$ = cuDevicePrimaryCtxRelease_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dev);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuCtxSetCurrent {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuCtxSetCurrent");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuCtxSetCurrent", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuCtxSetCurrent(CUcontext ctx)
     * }
     */
    public static FunctionDescriptor cuCtxSetCurrent$descriptor() {
        return cuCtxSetCurrent.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuCtxSetCurrent(CUcontext ctx)
     * }
     */
    public static MethodHandle cuCtxSetCurrent$handle() {
        return cuCtxSetCurrent.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuCtxSetCurrent(CUcontext ctx)
     * }
     */
    public static MemorySegment cuCtxSetCurrent$address() {
        return cuCtxSetCurrent.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuCtxSetCurrent(CUcontext ctx)
     * }
     */
    public static int cuCtxSetCurrent(MemorySegment ctx) {
        var mh$ = cuCtxSetCurrent.HANDLE;
        try {
            return (int) mh$.invokeExact(ctx);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuCtxSynchronize {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cuCtxSynchronize");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuCtxSynchronize", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuCtxSynchronize(void)
     * }
     */
    public static FunctionDescriptor cuCtxSynchronize$descriptor() {
        return cuCtxSynchronize.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuCtxSynchronize(void)
     * }
     */
    public static MethodHandle cuCtxSynchronize$handle() {
        return cuCtxSynchronize.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuCtxSynchronize(void)
     * }
     */
    public static MemorySegment cuCtxSynchronize$address() {
        return cuCtxSynchronize.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuCtxSynchronize(void)
     * }
     */
    public static int cuCtxSynchronize() {
        var mh$ = cuCtxSynchronize.HANDLE;
        try {
            return (int) mh$.invokeExact();
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemGetInfo_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemGetInfo_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemGetInfo_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemGetInfo_v2(size_t *free, size_t *total)
     * }
     */
    public static FunctionDescriptor cuMemGetInfo_v2$descriptor() {
        return cuMemGetInfo_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemGetInfo_v2(size_t *free, size_t *total)
     * }
     */
    public static MethodHandle cuMemGetInfo_v2$handle() {
        return cuMemGetInfo_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemGetInfo_v2(size_t *free, size_t *total)
     * }
     */
    public static MemorySegment cuMemGetInfo_v2$address() {
        return cuMemGetInfo_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemGetInfo_v2(size_t *free, size_t *total)
     * }
     */
    public static int cuMemGetInfo_v2(MemorySegment free, MemorySegment total) {
        var mh$ = cuMemGetInfo_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(free, total);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemAlloc_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_LONG
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemAlloc_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemAlloc_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
     * }
     */
    public static FunctionDescriptor cuMemAlloc_v2$descriptor() {
        return cuMemAlloc_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
     * }
     */
    public static MethodHandle cuMemAlloc_v2$handle() {
        return cuMemAlloc_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
     * }
     */
    public static MemorySegment cuMemAlloc_v2$address() {
        return cuMemAlloc_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t bytesize)
     * }
     */
    public static int cuMemAlloc_v2(MemorySegment dptr, long bytesize) {
        var mh$ = cuMemAlloc_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dptr, bytesize);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemFree_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemFree_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemFree_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemFree_v2(CUdeviceptr dptr)
     * }
     */
    public static FunctionDescriptor cuMemFree_v2$descriptor() {
        return cuMemFree_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemFree_v2(CUdeviceptr dptr)
     * }
     */
    public static MethodHandle cuMemFree_v2$handle() {
        return cuMemFree_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemFree_v2(CUdeviceptr dptr)
     * }
     */
    public static MemorySegment cuMemFree_v2$address() {
        return cuMemFree_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemFree_v2(CUdeviceptr dptr)
     * }
     */
    public static int cuMemFree_v2(long dptr) {
        var mh$ = cuMemFree_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dptr);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemAllocHost_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_LONG
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemAllocHost_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemAllocHost_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
     * }
     */
    public static FunctionDescriptor cuMemAllocHost_v2$descriptor() {
        return cuMemAllocHost_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
     * }
     */
    public static MethodHandle cuMemAllocHost_v2$handle() {
        return cuMemAllocHost_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
     * }
     */
    public static MemorySegment cuMemAllocHost_v2$address() {
        return cuMemAllocHost_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemAllocHost_v2(void **pp, size_t bytesize)
     * }
     */
    public static int cuMemAllocHost_v2(MemorySegment pp, long bytesize) {
        var mh$ = cuMemAllocHost_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(pp, bytesize);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemFreeHost {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemFreeHost");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemFreeHost", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemFreeHost(void *p)
     * }
     */
    public static FunctionDescriptor cuMemFreeHost$descriptor() {
        return cuMemFreeHost.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemFreeHost(void *p)
     * }
     */
    public static MethodHandle cuMemFreeHost$handle() {
        return cuMemFreeHost.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemFreeHost(void *p)
     * }
     */
    public static MemorySegment cuMemFreeHost$address() {
        return cuMemFreeHost.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemFreeHost(void *p)
     * }
     */
    public static int cuMemFreeHost(MemorySegment p) {
        var mh$ = cuMemFreeHost.HANDLE;
        try {
            return (int) mh$.invokeExact(p);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyHtoD_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG,
            cuda_h.C_POINTER,
            cuda_h.C_LONG
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemcpyHtoD_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemcpyHtoD_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
     * }
     */
    public static FunctionDescriptor cuMemcpyHtoD_v2$descriptor() {
        return cuMemcpyHtoD_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
     * }
     */
    public static MethodHandle cuMemcpyHtoD_v2$handle() {
        return cuMemcpyHtoD_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
     * }
     */
    public static MemorySegment cuMemcpyHtoD_v2$address() {
        return cuMemcpyHtoD_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount)
     * }
     */
    public static int cuMemcpyHtoD_v2(long dstDevice, MemorySegment srcHost, long ByteCount) {
        var mh$ = cuMemcpyHtoD_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcHost, ByteCount);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyDtoH_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_LONG_LONG,
            cuda_h.C_LONG
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemcpyDtoH_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemcpyDtoH_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
     * }
     */
    public static FunctionDescriptor cuMemcpyDtoH_v2$descriptor() {
        return cuMemcpyDtoH_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
     * }
     */
    public static MethodHandle cuMemcpyDtoH_v2$handle() {
        return cuMemcpyDtoH_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
     * }
     */
    public static MemorySegment cuMemcpyDtoH_v2$address() {
        return cuMemcpyDtoH_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoH_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount)
     * }
     */
    public static int cuMemcpyDtoH_v2(MemorySegment dstHost, long srcDevice, long ByteCount) {
        var mh$ = cuMemcpyDtoH_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstHost, srcDevice, ByteCount);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyDtoD_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG,
            cuda_h.C_LONG_LONG,
            cuda_h.C_LONG
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemcpyDtoD_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemcpyDtoD_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)
     * }
     */
    public static FunctionDescriptor cuMemcpyDtoD_v2$descriptor() {
        return cuMemcpyDtoD_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)
     * }
     */
    public static MethodHandle cuMemcpyDtoD_v2$handle() {
        return cuMemcpyDtoD_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)
     * }
     */
    public static MemorySegment cuMemcpyDtoD_v2$address() {
        return cuMemcpyDtoD_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount)
     * }
     */
    public static int cuMemcpyDtoD_v2(long dstDevice, long srcDevice, long ByteCount) {
        var mh$ = cuMemcpyDtoD_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcDevice, ByteCount);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyHtoDAsync_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG,
            cuda_h.C_POINTER,
            cuda_h.C_LONG,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemcpyHtoDAsync_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemcpyHtoDAsync_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream)
     * }
     */
    public static FunctionDescriptor cuMemcpyHtoDAsync_v2$descriptor() {
        return cuMemcpyHtoDAsync_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream)
     * }
     */
    public static MethodHandle cuMemcpyHtoDAsync_v2$handle() {
        return cuMemcpyHtoDAsync_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream)
     * }
     */
    public static MemorySegment cuMemcpyHtoDAsync_v2$address() {
        return cuMemcpyHtoDAsync_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void *srcHost, size_t ByteCount, CUstream hStream)
     * }
     */
    public static int cuMemcpyHtoDAsync_v2(long dstDevice, MemorySegment srcHost, long ByteCount, MemorySegment hStream) {
        var mh$ = cuMemcpyHtoDAsync_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcHost, ByteCount, hStream);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyDtoHAsync_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_LONG_LONG,
            cuda_h.C_LONG,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemcpyDtoHAsync_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemcpyDtoHAsync_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
     * }
     */
    public static FunctionDescriptor cuMemcpyDtoHAsync_v2$descriptor() {
        return cuMemcpyDtoHAsync_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
     * }
     */
    public static MethodHandle cuMemcpyDtoHAsync_v2$handle() {
        return cuMemcpyDtoHAsync_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
     * }
     */
    public static MemorySegment cuMemcpyDtoHAsync_v2$address() {
        return cuMemcpyDtoHAsync_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoHAsync_v2(void *dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
     * }
     */
    public static int cuMemcpyDtoHAsync_v2(MemorySegment dstHost, long srcDevice, long ByteCount, MemorySegment hStream) {
        var mh$ = cuMemcpyDtoHAsync_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstHost, srcDevice, ByteCount, hStream);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemcpyDtoDAsync_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG,
            cuda_h.C_LONG_LONG,
            cuda_h.C_LONG,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemcpyDtoDAsync_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemcpyDtoDAsync_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
     * }
     */
    public static FunctionDescriptor cuMemcpyDtoDAsync_v2$descriptor() {
        return cuMemcpyDtoDAsync_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
     * }
     */
    public static MethodHandle cuMemcpyDtoDAsync_v2$handle() {
        return cuMemcpyDtoDAsync_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
     * }
     */
    public static MemorySegment cuMemcpyDtoDAsync_v2$address() {
        return cuMemcpyDtoDAsync_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream)
     * }
     */
    public static int cuMemcpyDtoDAsync_v2(long dstDevice, long srcDevice, long ByteCount, MemorySegment hStream) {
        var mh$ = cuMemcpyDtoDAsync_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, srcDevice, ByteCount, hStream);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemsetD8_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG,
            cuda_h.C_CHAR,
            cuda_h.C_LONG
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemsetD8_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemsetD8_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)
     * }
     */
    public static FunctionDescriptor cuMemsetD8_v2$descriptor() {
        return cuMemsetD8_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)
     * }
     */
    public static MethodHandle cuMemsetD8_v2$handle() {
        return cuMemsetD8_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)
     * }
     */
    public static MemorySegment cuMemsetD8_v2$address() {
        return cuMemsetD8_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N)
     * }
     */
    public static int cuMemsetD8_v2(long dstDevice, byte uc, long N) {
        var mh$ = cuMemsetD8_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, uc, N);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuMemsetD8Async {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_LONG_LONG,
            cuda_h.C_CHAR,
            cuda_h.C_LONG,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuMemsetD8Async");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuMemsetD8Async", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream)
     * }
     */
    public static FunctionDescriptor cuMemsetD8Async$descriptor() {
        return cuMemsetD8Async.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream)
     * }
     */
    public static MethodHandle cuMemsetD8Async$handle() {
        return cuMemsetD8Async.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream)
     * }
     */
    public static MemorySegment cuMemsetD8Async$address() {
        return cuMemsetD8Async.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream)
     * }
     */
    public static int cuMemsetD8Async(long dstDevice, byte uc, long N, MemorySegment hStream) {
        var mh$ = cuMemsetD8Async.HANDLE;
        try {
            return (int) mh$.invokeExact(dstDevice, uc, N, hStream);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuModuleLoadData {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuModuleLoadData");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuModuleLoadData", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuModuleLoadData(CUmodule *module, const void *image)
     * }
     */
    public static FunctionDescriptor cuModuleLoadData$descriptor() {
        return cuModuleLoadData.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuModuleLoadData(CUmodule *module, const void *image)
     * }
     */
    public static MethodHandle cuModuleLoadData$handle() {
        return cuModuleLoadData.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuModuleLoadData(CUmodule *module, const void *image)
     * }
     */
    public static MemorySegment cuModuleLoadData$address() {
        return cuModuleLoadData.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuModuleLoadData(CUmodule *module, const void *image)
     * }
     */
    public static int cuModuleLoadData(MemorySegment module, MemorySegment image) {
        var mh$ = cuModuleLoadData.HANDLE;
        try {
            return (int) mh$.invokeExact(module, image);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuModuleGetFunction {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuModuleGetFunction");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuModuleGetFunction", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
     * }
     */
    public static FunctionDescriptor cuModuleGetFunction$descriptor() {
        return cuModuleGetFunction.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
     * }
     */
    public static MethodHandle cuModuleGetFunction$handle() {
        return cuModuleGetFunction.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
     * }
     */
    public static MemorySegment cuModuleGetFunction$address() {
        return cuModuleGetFunction.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuModuleGetFunction(CUfunction *hfunc, CUmodule hmod, const char *name)
     * }
     */
    public static int cuModuleGetFunction(MemorySegment hfunc, MemorySegment hmod, MemorySegment name) {
        var mh$ = cuModuleGetFunction.HANDLE;
        try {
            return (int) mh$.invokeExact(hfunc, hmod, name);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuLaunchKernel {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuLaunchKernel");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuLaunchKernel", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra)
     * }
     */
    public static FunctionDescriptor cuLaunchKernel$descriptor() {
        return cuLaunchKernel.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra)
     * }
     */
    public static MethodHandle cuLaunchKernel$handle() {
        return cuLaunchKernel.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra)
     * }
     */
    public static MemorySegment cuLaunchKernel$address() {
        return cuLaunchKernel.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ, unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ, unsigned int sharedMemBytes, CUstream hStream, void **kernelParams, void **extra)
     * }
     */
    public static int cuLaunchKernel(MemorySegment f, int gridDimX, int gridDimY, int gridDimZ, int blockDimX, int blockDimY, int blockDimZ, int sharedMemBytes, MemorySegment hStream, MemorySegment kernelParams, MemorySegment extra) {
        var mh$ = cuLaunchKernel.HANDLE;
        try {
            return (int) mh$.invokeExact(f, gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ, sharedMemBytes, hStream, kernelParams, extra);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuStreamCreate {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cuStreamCreate");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuStreamCreate", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)
     * }
     */
    public static FunctionDescriptor cuStreamCreate$descriptor() {
        return cuStreamCreate.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)
     * }
     */
    public static MethodHandle cuStreamCreate$handle() {
        return cuStreamCreate.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)
     * }
     */
    public static MemorySegment cuStreamCreate$address() {
        return cuStreamCreate.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuStreamCreate(CUstream *phStream, unsigned int Flags)
     * }
     */
    public static int cuStreamCreate(MemorySegment phStream, int Flags) {
        var mh$ = cuStreamCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(phStream, Flags);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuStreamSynchronize {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuStreamSynchronize");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuStreamSynchronize", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuStreamSynchronize(CUstream hStream)
     * }
     */
    public static FunctionDescriptor cuStreamSynchronize$descriptor() {
        return cuStreamSynchronize.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuStreamSynchronize(CUstream hStream)
     * }
     */
    public static MethodHandle cuStreamSynchronize$handle() {
        return cuStreamSynchronize.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuStreamSynchronize(CUstream hStream)
     * }
     */
    public static MemorySegment cuStreamSynchronize$address() {
        return cuStreamSynchronize.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuStreamSynchronize(CUstream hStream)
     * }
     */
    public static int cuStreamSynchronize(MemorySegment hStream) {
        var mh$ = cuStreamSynchronize.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuStreamDestroy_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuStreamDestroy_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuStreamDestroy_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuStreamDestroy_v2(CUstream hStream)
     * }
     */
    public static FunctionDescriptor cuStreamDestroy_v2$descriptor() {
        return cuStreamDestroy_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuStreamDestroy_v2(CUstream hStream)
     * }
     */
    public static MethodHandle cuStreamDestroy_v2$handle() {
        return cuStreamDestroy_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuStreamDestroy_v2(CUstream hStream)
     * }
     */
    public static MemorySegment cuStreamDestroy_v2$address() {
        return cuStreamDestroy_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuStreamDestroy_v2(CUstream hStream)
     * }
     */
    public static int cuStreamDestroy_v2(MemorySegment hStream) {
        var mh$ = cuStreamDestroy_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuEventCreate {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cuEventCreate");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuEventCreate", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
     * }
     */
    public static FunctionDescriptor cuEventCreate$descriptor() {
        return cuEventCreate.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
     * }
     */
    public static MethodHandle cuEventCreate$handle() {
        return cuEventCreate.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
     * }
     */
    public static MemorySegment cuEventCreate$address() {
        return cuEventCreate.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
     * }
     */
    public static int cuEventCreate(MemorySegment phEvent, int Flags) {
        var mh$ = cuEventCreate.HANDLE;
        try {
            return (int) mh$.invokeExact(phEvent, Flags);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuEventRecord {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuEventRecord");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuEventRecord", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuEventRecord(CUevent hEvent, CUstream hStream)
     * }
     */
    public static FunctionDescriptor cuEventRecord$descriptor() {
        return cuEventRecord.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuEventRecord(CUevent hEvent, CUstream hStream)
     * }
     */
    public static MethodHandle cuEventRecord$handle() {
        return cuEventRecord.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuEventRecord(CUevent hEvent, CUstream hStream)
     * }
     */
    public static MemorySegment cuEventRecord$address() {
        return cuEventRecord.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuEventRecord(CUevent hEvent, CUstream hStream)
     * }
     */
    public static int cuEventRecord(MemorySegment hEvent, MemorySegment hStream) {
        var mh$ = cuEventRecord.HANDLE;
        try {
            return (int) mh$.invokeExact(hEvent, hStream);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuEventDestroy_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cuEventDestroy_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuEventDestroy_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuEventDestroy_v2(CUevent hEvent)
     * }
     */
    public static FunctionDescriptor cuEventDestroy_v2$descriptor() {
        return cuEventDestroy_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuEventDestroy_v2(CUevent hEvent)
     * }
     */
    public static MethodHandle cuEventDestroy_v2$handle() {
        return cuEventDestroy_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuEventDestroy_v2(CUevent hEvent)
     * }
     */
    public static MemorySegment cuEventDestroy_v2$address() {
        return cuEventDestroy_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuEventDestroy_v2(CUevent hEvent)
     * }
     */
    public static int cuEventDestroy_v2(MemorySegment hEvent) {
        var mh$ = cuEventDestroy_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(hEvent);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cuStreamWaitEvent {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cuda_h.C_INT,
            cuda_h.C_POINTER,
            cuda_h.C_POINTER,
            cuda_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cuStreamWaitEvent");

        static final MethodHandle HANDLE = LIBRARY.downcall("cuStreamWaitEvent", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)
     * }
     */
    public static FunctionDescriptor cuStreamWaitEvent$descriptor() {
        return cuStreamWaitEvent.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)
     * }
     */
    public static MethodHandle cuStreamWaitEvent$handle() {
        return cuStreamWaitEvent.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)
     * }
     */
    public static MemorySegment cuStreamWaitEvent$address() {
        return cuStreamWaitEvent.ADDR;
    }

    /**
     * {@snippet lang=c :
     * CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags)
     * }
     */
    public static int cuStreamWaitEvent(MemorySegment hStream, MemorySegment hEvent, int Flags) {
        var mh$ = cuStreamWaitEvent.HANDLE;
        try {
            return (int) mh$.invokeExact(hStream, hEvent, Flags);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}
