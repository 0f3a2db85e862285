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

// ---- Backend.quantize4bit: blockwise 4-bit codes as the CPU backend's Blockwise4 (bitsandbytes' quantize_4bit)

// One block of threads per quantization block (blocksize even). The code table's nearest-entry search
// is built once per block: entries sorted ascending (signMagnitude: entries 0..7, searched on |v|),
// midpoints in double, the lower index on an exact tie.
extern "C" __global__ void quantize_4bit(const float* x, const float* code, int signMagnitude, int blocksize,
                                         unsigned char* packed, float* absmax, i64 n, int* error) {
    __shared__ int sortedIndex[16];
    __shared__ int tieIndex[15];
    __shared__ double thresholds[15];
    int searched = signMagnitude ? 8 : 16;
    if (threadIdx.x == 0) {
        for (int k = 0; k < searched; k++) {   // insertion sort of the indices by value (values are distinct)
            int j = k;
            while (j > 0 && code[sortedIndex[j - 1]] > code[k]) {
                sortedIndex[j] = sortedIndex[j - 1];
                j--;
            }
            sortedIndex[j] = k;
        }
        for (int k = 0; k + 1 < searched; k++) {
            thresholds[k] = ((double)code[sortedIndex[k]] + (double)code[sortedIndex[k + 1]]) / 2;
            tieIndex[k] = sortedIndex[k] < sortedIndex[k + 1] ? sortedIndex[k] : sortedIndex[k + 1];
        }
    }
    i64 start = (i64)blockIdx.x * blocksize;
    i64 end = start + blocksize < n ? start + blocksize : n;
    float m = 0.0f;
    i64 badAt = -1;
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
        float v = x[i];
        if (!is_finite(v) && badAt < 0) badAt = i;
        m = fmaxf(m, fabsf(v));
    }
    m = block_max(m);   // synchronises the block: the search tables are ready below
    if (badAt >= 0) report_error(error, ERR_NONFINITE_QUANT4, badAt, (i64)__float_as_uint(x[badAt]));
    if (threadIdx.x == 0) absmax[blockIdx.x] = m;
    for (i64 e = start + 2 * (i64)threadIdx.x; e < end; e += 2 * (i64)blockDim.x) {
        int q[2];
        for (int h = 0; h < 2; h++) {
            float v = m == 0.0f || e + h >= end ? 0.0f : x[e + h] / m;
            int sign = 0;
            if (signMagnitude) {
                sign = v < 0.0f ? 8 : 0;
                v = fabsf(v);
            }
            int p = 0;
            while (p < searched - 1 && (double)v > thresholds[p]) p++;
            q[h] = sign + (p < searched - 1 && (double)v == thresholds[p] ? tieIndex[p] : sortedIndex[p]);
        }
        packed[e >> 1] = (unsigned char)(q[0] << 4 | q[1]);
    }
}

// mean[0] = (float) (sum of absmax[0..blocks) in double, in order / blocks): double quantization's offset, summed
// in the CPU's order so that it is the same float.
extern "C" __global__ void absmax_mean(const float* absmax, i64 blocks, float* mean) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double sum = 0.0;
    for (i64 b = 0; b < blocks; b++) sum += (double)absmax[b];
    mean[0] = (float)(sum / (double)blocks);
}
