// cuBLAS's GEMMs on the emulated device: column-major, as cuBLAS defines them, computed by a
// naive reference loop (double accumulation) in stream order. Arguments are validated as
// cuBLAS does (leading dimensions, operation codes), and every operand's extent must lie in
// one live device allocation.
#include <cstdio>
#include <cstring>

#include "device.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

struct cublasContext {
    CUstream stream = nullptr;
};

namespace {

using tsemu::report;

// The column-major matrix op(X) is rows x cols; X itself is stored with leading dimension ld.
struct Operand {
    const float* data;
    bool transposed;
    int ld;
    long long stride;

    float at(int row, int col) const {
        return transposed ? data[(long long)col + (long long)row * ld] : data[(long long)row + (long long)col * ld];
    }
};

bool validOp(cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T; }

// Bytes an operand of storedRows x storedCols with leading dimension ld spans, over batch matrices.
bool inDeviceMemory(const void* p, long long storedRows, long long storedCols, long long ld, long long stride, int batch,
                    const char* call, const char* name) {
    if (storedRows == 0 || storedCols == 0 || batch == 0) return true;
    long long elements = ld * (storedCols - 1) + storedRows + (long long)(batch - 1) * stride;
    CUdeviceptr start = reinterpret_cast<CUdeviceptr>(p);
    if (stride < 0 || !tsemu::isDeviceRange(start, (std::size_t)elements * sizeof(float))) {
        report("%s: %s spans [%s, +%lld floats), not inside one live device allocation", call, name,
               tsemu::describe(start).c_str(), elements);
        return false;
    }
    return true;
}

cublasStatus_t gemm(const char* call, cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                    int n, int k, const float* alpha, const float* A, int lda, long long strideA, const float* B,
                    int ldb, long long strideB, const float* beta, float* C, int ldc, long long strideC, int batch) {
    if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (tsemu::requireContext() != CUDA_SUCCESS) return CUBLAS_STATUS_NOT_INITIALIZED;
    int rowsA = transa == CUBLAS_OP_N ? m : k, rowsB = transb == CUBLAS_OP_N ? k : n;
    if (!validOp(transa) || !validOp(transb) || m < 0 || n < 0 || k < 0 || batch < 0 || lda < std::max(1, rowsA) ||
        ldb < std::max(1, rowsB) || ldc < std::max(1, m)) {
        report("%s: invalid arguments (transa %d, transb %d, m %d, n %d, k %d, lda %d, ldb %d, ldc %d, batch %d)", call,
               (int)transa, (int)transb, m, n, k, lda, ldb, ldc, batch);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
    if (alpha == nullptr || beta == nullptr || tsemu::inDeviceAddressSpace(alpha) || tsemu::inDeviceAddressSpace(beta)) {
        report("%s: alpha and beta must be host pointers (the handle's pointer mode is host)", call);
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    int colsA = transa == CUBLAS_OP_N ? k : m, colsB = transb == CUBLAS_OP_N ? n : k;
    if (!inDeviceMemory(A, rowsA, colsA, lda, strideA, batch, call, "A") ||
        !inDeviceMemory(B, rowsB, colsB, ldb, strideB, batch, call, "B") ||
        !inDeviceMemory(C, m, n, ldc, strideC, batch, call, "C")) {
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    float a = *alpha, b = *beta;   // host pointer mode: read at the call
    Operand opA{A, transa != CUBLAS_OP_N, lda, strideA}, opB{B, transb != CUBLAS_OP_N, ldb, strideB};
    tsemu::Stream* s = tsemu::stream(handle->stream);
    if (s == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    s->enqueue([=] {
        std::vector<double> column(m);
        for (int p = 0; p < batch; p++) {
            Operand pa = opA, pb = opB;
            pa.data += p * strideA;
            pb.data += p * strideB;
            float* c = C + p * strideC;
            for (int j = 0; j < n; j++) {
                std::fill(column.begin(), column.end(), 0.0);
                for (int l = 0; l < k; l++) {
                    double bl = pb.at(l, j);
                    for (int i = 0; i < m; i++) column[i] += (double)pa.at(i, l) * bl;
                }
                for (int i = 0; i < m; i++) {
                    float& out = c[i + (long long)j * ldc];
                    // beta == 0: C is not read (it may hold NaN), as cuBLAS specifies
                    out = b == 0.0f ? (float)(a * column[i]) : (float)(a * column[i] + (double)b * out);
                }
            }
        }
        return CUDA_SUCCESS;
    });
    return CUBLAS_STATUS_SUCCESS;
}

}  // namespace

EXPORT cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
    if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    if (tsemu::requireContext() != CUDA_SUCCESS) return CUBLAS_STATUS_NOT_INITIALIZED;
    *handle = new cublasContext();
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
    if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    tsemu::synchronizeAll();
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) {
    if (handle == nullptr) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (tsemu::stream(reinterpret_cast<CUstream>(streamId)) == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
    handle->stream = reinterpret_cast<CUstream>(streamId);
    return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m,
                                     int n, int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                                     const float* beta, float* C, int ldc) {
    return gemm("cublasSgemm", handle, transa, transb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
}

EXPORT cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                                cublasOperation_t transb, int m, int n, int k, const float* alpha,
                                                const float* A, int lda, long long int strideA, const float* B, int ldb,
                                                long long int strideB, const float* beta, float* C, int ldc,
                                                long long int strideC, int batchCount) {
    return gemm("cublasSgemmStridedBatched", handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB,
                beta, C, ldc, strideC, batchCount);
}
