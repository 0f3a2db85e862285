// Hand-written in the shape jextract generates (see scripts/jextract-cuda.sh); keep it regenerable.
package dev.tessera.cuda.ffi;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * cuBLAS ({@code cublas_api.h}, {@code libcublas.so.*}): handle management and single-precision
 * GEMM. cuBLAS is column-major; the backend maps row-major products onto it by computing
 * C<sup>T</sup> = B<sup>T</sup>A<sup>T</sup>. Every method returns the raw {@code cublasStatus_t};
 * {@link CudaStatus#checkCublas} turns a failure into an exception.
 */
@SuppressWarnings({"unused", "checkstyle:TypeName"})
public final class cublas_api_h {
    private cublas_api_h() {}

    static final NativeLibrary LIBRARY = CudaLibraries.CUBLAS;

    public static final ValueLayout.OfByte C_CHAR = ValueLayout.JAVA_BYTE;
    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfLong C_LONG_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfFloat C_FLOAT = ValueLayout.JAVA_FLOAT;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS
            .withTargetLayout(MemoryLayout.sequenceLayout(java.lang.Long.MAX_VALUE, ValueLayout.JAVA_BYTE));

    /**
     * {@snippet lang=c :
     * enum cublasStatus_t.CUBLAS_STATUS_SUCCESS = 0
     * }
     */
    public static int CUBLAS_STATUS_SUCCESS() {
        return 0;
    }

    /**
     * {@snippet lang=c :
     * enum cublasStatus_t.CUBLAS_STATUS_NOT_INITIALIZED = 1
     * }
     */
    public static int CUBLAS_STATUS_NOT_INITIALIZED() {
        return 1;
    }

    /**
     * {@snippet lang=c :
     * enum cublasStatus_t.CUBLAS_STATUS_ALLOC_FAILED = 3
     * }
     */
    public static int CUBLAS_STATUS_ALLOC_FAILED() {
        return 3;
    }

    /**
     * {@snippet lang=c :
     * enum cublasStatus_t.CUBLAS_STATUS_INVALID_VALUE = 7
     * }
     */
    public static int CUBLAS_STATUS_INVALID_VALUE() {
        return 7;
    }

    /**
     * {@snippet lang=c :
     * enum cublasStatus_t.CUBLAS_STATUS_ARCH_MISMATCH = 8
     * }
     */
    public static int CUBLAS_STATUS_ARCH_MISMATCH() {
        return 8;
    }

    /**
     * {@snippet lang=c :
     * enum cublasStatus_t.CUBLAS_STATUS_MAPPING_ERROR = 11
     * }
     */
    public static int CUBLAS_STATUS_MAPPING_ERROR() {
        return 11;
    }

    /**
     * {@snippet lang=c :
     * enum cublasStatus_t.CUBLAS_STATUS_EXECUTION_FAILED = 13
     * }
     */
    public static int CUBLAS_STATUS_EXECUTION_FAILED() {
        return 13;
    }

    /**
     * {@snippet lang=c :
     * enum cublasStatus_t.CUBLAS_STATUS_INTERNAL_ERROR = 14
     * }
     */
    public static int CUBLAS_STATUS_INTERNAL_ERROR() {
        return 14;
    }

    /**
     * {@snippet lang=c :
     * enum cublasStatus_t.CUBLAS_STATUS_NOT_SUPPORTED = 15
     * }
     */
    public static int CUBLAS_STATUS_NOT_SUPPORTED() {
        return 15;
    }

    /**
     * {@snippet lang=c :
     * enum cublasStatus_t.CUBLAS_STATUS_LICENSE_ERROR = 16
     * }
     */
    public static int CUBLAS_STATUS_LICENSE_ERROR() {
        return 16;
    }

    /**
     * {@snippet lang=c :
     * enum cublasOperation_t.CUBLAS_OP_N = 0
     * }
     */
    public static int CUBLAS_OP_N() {
        return 0;
    }

    /**
     * {@snippet lang=c :
     * enum cublasOperation_t.CUBLAS_OP_T = 1
     * }
     */
    public static int CUBLAS_OP_T() {
        return 1;
    }

    private static final class cublasCreate_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cublas_api_h.C_INT,
            cublas_api_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cublasCreate_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cublasCreate_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
     * }
     */
    public static FunctionDescriptor cublasCreate_v2$descriptor() {
        return cublasCreate_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
     * }
     */
    public static MethodHandle cublasCreate_v2$handle() {
        return cublasCreate_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
     * }
     */
    public static MemorySegment cublasCreate_v2$address() {
        return cublasCreate_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
     * }
     */
    public static int cublasCreate_v2(MemorySegment handle) {
        var mh$ = cublasCreate_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(handle);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasDestroy_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cublas_api_h.C_INT,
            cublas_api_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cublasDestroy_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cublasDestroy_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
     * }
     */
    public static FunctionDescriptor cublasDestroy_v2$descriptor() {
        return cublasDestroy_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
     * }
     */
    public static MethodHandle cublasDestroy_v2$handle() {
        return cublasDestroy_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
     * }
     */
    public static MemorySegment cublasDestroy_v2$address() {
        return cublasDestroy_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
     * }
     */
    public static int cublasDestroy_v2(MemorySegment handle) {
        var mh$ = cublasDestroy_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(handle);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasSetStream_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cublas_api_h.C_INT,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_POINTER
        );

        static final MemorySegment ADDR = LIBRARY.find("cublasSetStream_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cublasSetStream_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
     * }
     */
    public static FunctionDescriptor cublasSetStream_v2$descriptor() {
        return cublasSetStream_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
     * }
     */
    public static MethodHandle cublasSetStream_v2$handle() {
        return cublasSetStream_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
     * }
     */
    public static MemorySegment cublasSetStream_v2$address() {
        return cublasSetStream_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
     * }
     */
    public static int cublasSetStream_v2(MemorySegment handle, MemorySegment streamId) {
        var mh$ = cublasSetStream_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, streamId);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasSgemm_v2 {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cublas_api_h.C_INT,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_INT,
            cublas_api_h.C_INT,
            cublas_api_h.C_INT,
            cublas_api_h.C_INT,
            cublas_api_h.C_INT,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_INT,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_INT,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cublasSgemm_v2");

        static final MethodHandle HANDLE = LIBRARY.downcall("cublasSgemm_v2", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc)
     * }
     */
    public static FunctionDescriptor cublasSgemm_v2$descriptor() {
        return cublasSgemm_v2.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc)
     * }
     */
    public static MethodHandle cublasSgemm_v2$handle() {
        return cublasSgemm_v2.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc)
     * }
     */
    public static MemorySegment cublasSgemm_v2$address() {
        return cublasSgemm_v2.ADDR;
    }

    /**
     * {@snippet lang=c :
     * cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc)
     * }
     */
    public static int cublasSgemm_v2(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha, MemorySegment A, int lda, MemorySegment B, int ldb, MemorySegment beta, MemorySegment C, int ldc) {
        var mh$ = cublasSgemm_v2.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }

    private static final class cublasSgemmStridedBatched {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(
            cublas_api_h.C_INT,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_INT,
            cublas_api_h.C_INT,
            cublas_api_h.C_INT,
            cublas_api_h.C_INT,
            cublas_api_h.C_INT,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_INT,
            cublas_api_h.C_LONG_LONG,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_INT,
            cublas_api_h.C_LONG_LONG,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_POINTER,
            cublas_api_h.C_INT,
            cublas_api_h.C_LONG_LONG,
            cublas_api_h.C_INT
        );

        static final MemorySegment ADDR = LIBRARY.find("cublasSgemmStridedBatched");

        static final MethodHandle HANDLE = LIBRARY.downcall("cublasSgemmStridedBatched", ADDR, DESC);
    }

    /**
     * Function descriptor for:
     * {@snippet lang=c :
     * cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, long long int strideA, const float *B, int ldb, long long int strideB, const float *beta, float *C, int ldc, long long int strideC, int batchCount)
     * }
     */
    public static FunctionDescriptor cublasSgemmStridedBatched$descriptor() {
        return cublasSgemmStridedBatched.DESC;
    }

    /**
     * Downcall method handle for:
     * {@snippet lang=c :
     * cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, long long int strideA, const float *B, int ldb, long long int strideB, const float *beta, float *C, int ldc, long long int strideC, int batchCount)
     * }
     */
    public static MethodHandle cublasSgemmStridedBatched$handle() {
        return cublasSgemmStridedBatched.HANDLE;
    }

    /**
     * Address for:
     * {@snippet lang=c :
     * cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, long long int strideA, const float *B, int ldb, long long int strideB, const float *beta, float *C, int ldc, long long int strideC, int batchCount)
     * }
     */
    public static MemorySegment cublasSgemmStridedBatched$address() {
        return cublasSgemmStridedBatched.ADDR;
    }

    /**
     * {@snippet lang=c :
     * cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k, const float *alpha, const float *A, int lda, long long int strideA, const float *B, int ldb, long long int strideB, const float *beta, float *C, int ldc, long long int strideC, int batchCount)
     * }
     */
    public static int cublasSgemmStridedBatched(MemorySegment handle, int transa, int transb, int m, int n, int k, MemorySegment alpha, MemorySegment A, int lda, long strideA, MemorySegment B, int ldb, long strideB, MemorySegment beta, MemorySegment C, int ldc, long strideC, int batchCount) {
        var mh$ = cublasSgemmStridedBatched.HANDLE;
        try {
            return (int) mh$.invokeExact(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C, ldc, strideC, batchCount);
        } catch (Error | RuntimeException ex) {
            throw ex;
        } catch (Throwable ex$) {
            throw new AssertionError("should not reach here", ex$);
        }
    }
}
