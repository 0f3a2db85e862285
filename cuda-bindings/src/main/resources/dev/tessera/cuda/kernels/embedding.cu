// Embedding lookup, index_select and their scatter-add backwards. Out-of-range indices touch no
// memory: they write zeros (forward) or nothing (backward) and leave a code in the error word.
#include "common.cuh"

// out[i, :] = weight[ids[i], :] widened to F32; weight [vocab, dim] F32, or BF16/F16 (a frozen table, wtype).
extern "C" __global__ void embedding_forward(const void* weight, int wtype, const i64* ids, float* out, int count,
                                             int dim, i64 vocab, int* err) {
    i64 total = (i64)count * dim;
    for (i64 e = global_index(); e < total; e += grid_stride()) {
        i64 i = e / dim, c = e % dim;
        i64 id = ids[i];
        if (id < 0 || id >= vocab) {
            out[e] = 0.0f;
            report_error(err, ERR_EMBEDDING_INDEX, id, vocab);
        } else {
            i64 at = id * dim + c;
            out[e] = wtype == DT_BF16 ? bf16_to_float(((const unsigned short*)weight)[at])
                   : wtype == DT_F16 ? f16_to_float(((const unsigned short*)weight)[at])
                   : ((const float*)weight)[at];
        }
    }
}

// dweight[ids[i], :] += dout[i, :].
extern "C" __global__ void embedding_backward(const float* dout, const i64* ids, float* dweight, int count, int dim,
                                              i64 vocab, int* err) {
    i64 total = (i64)count * dim;
    for (i64 e = global_index(); e < total; e += grid_stride()) {
        i64 i = e / dim, c = e % dim;
        i64 id = ids[i];
        if (id < 0 || id >= vocab) {
            report_error(err, ERR_EMBEDDING_INDEX, id, vocab);
        } else {
            atomicAdd(&dweight[id * dim + c], dout[e]);
        }
    }
}

// out [outer, count, inner] = x [outer, n, inner] gathered along the middle axis.
extern "C" __global__ void index_select(const float* x, const i64* index, float* out, int outer, int n, int inner,
                                        int count, int* err) {
    i64 total = (i64)outer * count * inner;
    for (i64 e = global_index(); e < total; e += grid_stride()) {
        i64 k = e % inner, rest = e / inner;
        i64 j = rest % count, o = rest / count;
        i64 src = index[j];
        if (src < 0 || src >= n) {
            out[e] = 0.0f;
            report_error(err, ERR_SELECT_INDEX, src, n);
        } else {
            out[e] = x[(o * n + src) * inner + k];
        }
    }
}

// dx [outer, n, inner] += g [outer, count, inner] scattered along the middle axis.
extern "C" __global__ void index_add(const float* g, const i64* index, float* dx, int outer, int n, int inner,
                                     int count, int* err) {
    i64 total = (i64)outer * count * inner;
    for (i64 e = global_index(); e < total; e += grid_stride()) {
        i64 k = e % inner, rest = e / inner;
        i64 j = rest % count, o = rest / count;
        i64 dst = index[j];
        if (dst < 0 || dst >= n) {
            report_error(err, ERR_SELECT_INDEX, dst, n);
        } else {
            atomicAdd(&dx[(o * n + dst) * inner + k], g[e]);
        }
    }
}
