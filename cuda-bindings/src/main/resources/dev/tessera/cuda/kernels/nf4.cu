// Blockwise 4-bit dequantization (bitsandbytes NF4/FP4 layout): element i is the high nibble of
// packed[i/2] when i is even, the low nibble when odd; value = code[nibble] * absmax[i / blockSize], where absmax
// is plain F32 or double-quantized (block_scale).
#include "common.cuh"

// Plain F32 absmax, F32 output: the whole-tensor decode.
extern "C" __global__ void dequant_4bit(const unsigned char* packed, const float* absmax, const float* code,
                                        float* out, i64 n, int blockSize) {
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        unsigned char byte = packed[i >> 1];
        int q = (i & 1) ? (byte & 0x0F) : (byte >> 4);
        out[i] = code[q] * absmax[i / blockSize];
    }
}

// ---- the 4-bit weights of Backend.dequantize4bit / matmul4bit (dev.tessera.core.Packed4Bit)

// absmax of block b: plain F32, or double-quantized nestedCode[absmaxCodes[b]] * nested[b / nestedBlocksize] + offset
__device__ __forceinline__ float block_scale(const float* absmax, const unsigned char* absmaxCodes, const float* nested,
                                             const float* nestedCode, int nestedBlocksize, float offset, i64 b) {
    if (absmax) return absmax[b];
    return nestedCode[absmaxCodes[b]] * nested[b / nestedBlocksize] + offset;
}

// v rounded to the compute dtype's precision (F32: unchanged), as the CPU backend's Dequant4Scalar.round
__device__ __forceinline__ float round_to(float v, int rounding) {
    if (rounding == DT_BF16) return bf16_to_float(float_to_bf16(v));
    if (rounding == DT_F16) return f16_to_float(float_to_f16(v));
    return v;
}

__device__ __forceinline__ float decode_4bit(const unsigned char* packed, const float* code, int blocksize,
                                             const float* absmax, const unsigned char* absmaxCodes, const float* nested,
                                             const float* nestedCode, int nestedBlocksize, float offset, int rounding,
                                             i64 e) {
    unsigned char byte = packed[e >> 1];
    int q = (e & 1) ? (byte & 0x0F) : (byte >> 4);
    float scale = block_scale(absmax, absmaxCodes, nested, nestedCode, nestedBlocksize, offset, e / blocksize);
    return round_to(code[q] * scale, rounding);
}

// A tile of W: rows ranges of width elements, range r starting at element first + r * stride, written
// densely to out [rows, width] as F32 (outType DT_F32) or BF16 (DT_BF16). The tiled 4-bit product
// decodes a band of W's rows into a scratch buffer this way and hands it to cuBLAS.
extern "C" __global__ void dequant_4bit_tile(const unsigned char* packed, const float* code, int blocksize,
                                             const float* absmax, const unsigned char* absmaxCodes,
                                             const float* nested, const float* nestedCode, int nestedBlocksize,
                                             float offset, int rounding, i64 first, i64 stride, i64 rows, i64 width,
                                             void* out, int outType) {
    i64 total = rows * width;
    for (i64 i = global_index(); i < total; i += grid_stride()) {
        i64 r = i / width, c = i - r * width;
        float v = decode_4bit(packed, code, blocksize, absmax, absmaxCodes, nested, nestedCode, nestedBlocksize,
                              offset, rounding, first + r * stride + c);
        if (outType == DT_BF16) {
            ((unsigned short*)out)[i] = float_to_bf16(v);
        } else {
            ((float*)out)[i] = v;
        }
    }
}

// The matrix-vector product y [rows] = W [rows, cols] · x [cols] (token-by-token generation), one
// block per output row, W decoded in registers.
extern "C" __global__ void gemv_4bit(const unsigned char* packed, const float* code, int blocksize, const float* absmax,
                                     const unsigned char* absmaxCodes, const float* nested, const float* nestedCode,
                                     int nestedBlocksize, float offset, int rounding, const float* x, float* y,
                                     int rows, int cols) {
    i64 row = blockIdx.x;
    float s = 0.0f;
    for (int k = threadIdx.x; k < cols; k += blockDim.x) {
        s += x[k] * decode_4bit(packed, code, blocksize, absmax, absmaxCodes, nested, nestedCode, nestedBlocksize,
                                offset, rounding, row * cols + k);
    }
    s = block_sum(s);
    if (threadIdx.x == 0) y[row] = s;
}
