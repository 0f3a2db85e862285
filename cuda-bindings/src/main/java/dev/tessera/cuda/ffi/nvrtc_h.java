// Hand-written in the shape jextract generates (see scripts/jextract-cuda.sh); keep it regenerable.
package dev.tessera.cuda.ffi;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * NVRTC ({@code nvrtc.h}, {@code libnvrtc.so.*}): compiles the project's CUDA C++ kernels to PTX
 * at run time when no build-time PTX is available. Every method but
 * {@link #nvrtcGetErrorString} returns the raw {@code nvrtcResult};
 * {@link CudaStatus#checkNvrtc} turns a failure into an exception.
 */
@SuppressWarnings({"unused", "checkstyle:TypeName"})
public final class nvrtc_h {
    private nvrtc_h() {}

    static final NativeLibrary LIBRARY = CudaLibraries.NVRTC;

    public static final ValueLayout.OfByte C_CHAR = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfLong C_LONG_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS
            .withTargetLayout(MemoryLayout.sequenceLayout(java.lang.Long.MAX_VALUE, ValueLayout.JAVA_BYTE));

    /**
     * {@snippet lang=c :
     * enum nvrtcResult.NVRTC_SUCCESS = 0
     * }
     */
    public static int NVRTC_SUCCESS() {
        return 0;
    }

    /**
     * {@snippet lang=c :
     * enum nvrtcResult.NVRTC_ERROR_INVALID_OPTION = 5
     * }
     */
    public static int NVRTC_ERROR_INVALID_OPTION() {
        return 5;
    }

    /**
     * {@snippet lang=c :
     * enum nvrtcResult.NVRTC_ERROR_COMPILATION = 6
     * }
     */
    public static int NVRTC_ERROR_COMPILATION() {
        return 6;
    }

    private static final class nvrtcGetErrorString {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            nvrtc_h.C_POINTER,
            nvrtc_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("nvrtcGetErrorString");

        static final MethodHandle HANDLE = LIBRARY.downcall("nvrtcGetErrorString", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * const char *nvrtcGetErrorString(nvrtcResult result)
     * }
     */
    public static FunctionDescriptor nvrtcGetErrorString$descriptor() {
        return nvrtcGetErrorString.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * const char *nvrtcGetErrorString(nvrtcResult result)
     * }
     */
    public static MethodHandle nvrtcGetErrorString$handle() {
        return nvrtcGetErrorString.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * const char *nvrtcGetErrorString(nvrtcResult result)
     * }
     */
    public static MemorySegment nvrtcGetErrorString$address() {
        return nvrtcGetErrorString.ADDR;
    }

    /**
     * {@snippet lang=c :
     * const char *nvrtcGetErrorString(nvrtcResult result)
     * }
     */
    public static MemorySegment nvrtcGetErrorString(int result) {
        var mh$ = nvrtcGetErrorString.HANDLE;
        try {
            return (MemorySegment) mh$.invokeExact(result);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class nvrtcCreateProgram {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            nvrtc_h.C_INT,
            nvrtc_h.C_POINTER,
            nvrtc_h.C_POINTER,
            nvrtc_h.C_POINTER,
            nvrtc_h.C_INT,
            nvrtc_h.C_POINTER,
            nvrtc_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("nvrtcCreateProgram");

        static final MethodHandle HANDLE = LIBRARY.downcall("nvrtcCreateProgram", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name, int numHeaders, const char * const *headers, const char * const *includeNames)
     * }
     */
    public static FunctionDescriptor nvrtcCreateProgram$descriptor() {
        return nvrtcCreateProgram.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name, int numHeaders, const char * const *headers, const char * const *includeNames)
     * }
     */
    public static MethodHandle nvrtcCreateProgram$handle() {
        return nvrtcCreateProgram.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name, int numHeaders, const char * const *headers, const char * const *includeNames)
     * }
     */
    public static MemorySegment nvrtcCreateProgram$address() {
        return nvrtcCreateProgram.ADDR;
    }

    /**
     * {@snippet lang=c :
     * nvrtcResult nvrtcCreateProgram(nvrtcProgram *prog, const char *src, const char *name, int numHeaders, const char * const *headers, const char * const *includeNames)
     * }
     */
    public static int nvrtcCreateProgram(MemorySegment prog, MemorySegment src, MemorySegment name, int numHeaders, MemorySegment headers, MemorySegment includeNames) {
        var mh$ = nvrtcCreateProgram.HANDLE;
        try {
            return (int) mh$.invokeExact(prog, src, name, numHeaders, headers, includeNames);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class nvrtcDestroyProgram {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            nvrtc_h.C_INT,
            nvrtc_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("nvrtcDestroyProgram");

        static final MethodHandle HANDLE = LIBRARY.downcall("nvrtcDestroyProgram", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcDestroyProgram(nvrtcProgram *prog)
     * }
     */
    public static FunctionDescriptor nvrtcDestroyProgram$descriptor() {
        return nvrtcDestroyProgram.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcDestroyProgram(nvrtcProgram *prog)
     * }
     */
    public static MethodHandle nvrtcDestroyProgram$handle() {
        return nvrtcDestroyProgram.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcDestroyProgram(nvrtcProgram *prog)
     * }
     */
    public static MemorySegment nvrtcDestroyProgram$address() {
        return nvrtcDestroyProgram.ADDR;
    }

    /**
     * {@snippet lang=c :
     * nvrtcResult nvrtcDestroyProgram(nvrtcProgram *prog)
     * }
     */
    public static int nvrtcDestroyProgram(MemorySegment prog) {
        var mh$ = nvrtcDestroyProgram.HANDLE;
        try {
            return (int) mh$.invokeExact(prog);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class nvrtcCompileProgram {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            nvrtc_h.C_INT,
            nvrtc_h.C_POINTER,
            nvrtc_h.C_INT,
            nvrtc_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("nvrtcCompileProgram");

        static final MethodHandle HANDLE = LIBRARY.downcall("nvrtcCompileProgram", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char * const *options)
     * }
     */
    public static FunctionDescriptor nvrtcCompileProgram$descriptor() {
        return nvrtcCompileProgram.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char * const *options)
     * }
     */
    public static MethodHandle nvrtcCompileProgram$handle() {
        return nvrtcCompileProgram.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char * const *options)
     * }
     */
    public static MemorySegment nvrtcCompileProgram$address() {
        return nvrtcCompileProgram.ADDR;
    }

    /**
     * {@snippet lang=c :
     * nvrtcResult nvrtcCompileProgram(nvrtcProgram prog, int numOptions, const char * const *options)
     * }
     */
    public static int nvrtcCompileProgram(MemorySegment prog, int numOptions, MemorySegment options) {
        var mh$ = nvrtcCompileProgram.HANDLE;
        try {
            return (int) mh$.invokeExact(prog, numOptions, options);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class nvrtcGetPTXSize {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            nvrtc_h.C_INT,
            nvrtc_h.C_POINTER,
            nvrtc_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("nvrtcGetPTXSize");

        static final MethodHandle HANDLE = LIBRARY.downcall("nvrtcGetPTXSize", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t *ptxSizeRet)
     * }
     */
    public static FunctionDescriptor nvrtcGetPTXSize$descriptor() {
        return nvrtcGetPTXSize.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t *ptxSizeRet)
     * }
     */
    public static MethodHandle nvrtcGetPTXSize$handle() {
        return nvrtcGetPTXSize.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t *ptxSizeRet)
     * }
     */
    public static MemorySegment nvrtcGetPTXSize$address() {
        return nvrtcGetPTXSize.ADDR;
    }

    /**
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetPTXSize(nvrtcProgram prog, size_t *ptxSizeRet)
     * }
     */
    public static int nvrtcGetPTXSize(MemorySegment prog, MemorySegment ptxSizeRet) {
        var mh$ = nvrtcGetPTXSize.HANDLE;
        try {
            return (int) mh$.invokeExact(prog, ptxSizeRet);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class nvrtcGetPTX {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            nvrtc_h.C_INT,
            nvrtc_h.C_POINTER,
            nvrtc_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("nvrtcGetPTX");

        static final MethodHandle HANDLE = LIBRARY.downcall("nvrtcGetPTX", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char *ptx)
     * }
     */
    public static FunctionDescriptor nvrtcGetPTX$descriptor() {
        return nvrtcGetPTX.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char *ptx)
     * }
     */
    public static MethodHandle nvrtcGetPTX$handle() {
        return nvrtcGetPTX.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char *ptx)
     * }
     */
    public static MemorySegment nvrtcGetPTX$address() {
        return nvrtcGetPTX.ADDR;
    }

    /**
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetPTX(nvrtcProgram prog, char *ptx)
     * }
     */
    public static int nvrtcGetPTX(MemorySegment prog, MemorySegment ptx) {
        var mh$ = nvrtcGetPTX.HANDLE;
        try {
            return (int) mh$.invokeExact(prog, ptx);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class nvrtcGetProgramLogSize {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            nvrtc_h.C_INT,
            nvrtc_h.C_POINTER,
            nvrtc_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("nvrtcGetProgramLogSize");

        static final MethodHandle HANDLE = LIBRARY.downcall("nvrtcGetProgramLogSize", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t *logSizeRet)
     * }
     */
    public static FunctionDescriptor nvrtcGetProgramLogSize$descriptor() {
        return nvrtcGetProgramLogSize.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t *logSizeRet)
     * }
     */
    public static MethodHandle nvrtcGetProgramLogSize$handle() {
        return nvrtcGetProgramLogSize.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t *logSizeRet)
     * }
     */
    public static MemorySegment nvrtcGetProgramLogSize$address() {
        return nvrtcGetProgramLogSize.ADDR;
    }

    /**
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetProgramLogSize(nvrtcProgram prog, size_t *logSizeRet)
     * }
     */
    public static int nvrtcGetProgramLogSize(MemorySegment prog, MemorySegment logSizeRet) {
        var mh$ = nvrtcGetProgramLogSize.HANDLE;
        try {
            return (int) mh$.invokeExact(prog, logSizeRet);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class nvrtcGetProgramLog {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            nvrtc_h.C_INT,
            nvrtc_h.C_POINTER,
            nvrtc_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("nvrtcGetProgramLog");

        static final MethodHandle HANDLE = LIBRARY.downcall("nvrtcGetProgramLog", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char *log)
     * }
     */
    public static FunctionDescriptor nvrtcGetProgramLog$descriptor() {
        return nvrtcGetProgramLog.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char *log)
     * }
     */
    public static MethodHandle nvrtcGetProgramLog$handle() {
        return nvrtcGetProgramLog.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char *log)
     * }
     */
    public static MemorySegment nvrtcGetProgramLog$address() {
        return nvrtcGetProgramLog.ADDR;
    }

    /**
     * {@snippet lang=c :
     * nvrtcResult nvrtcGetProgramLog(nvrtcProgram prog, char *log)
     * }
     */
    public static int nvrtcGetProgramLog(MemorySegment prog, MemorySegment log) {
        var mh$ = nvrtcGetProgramLog.HANDLE;
        try {
            return (int) mh$.invokeExact(prog, log);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}
