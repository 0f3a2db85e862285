// Blockwise 4-bit dequantization (bitsandbytes NF4/FP4 layout): element i is the high nibble of
// packed[i/2] when i is even, the low nibble when odd; value = code[nibble] * absmax[i / blockSize].
#include "common.cuh"

extern "C" __global__ void dequant_4bit(const unsigned char* packed, const float* absmax, const float* code,
                                        float* out, i64 n, int blockSize) {
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        unsigned char byte = packed[i >> 1];
        int q = (i & 1) ? (byte & 0x0F) : (byte >> 4);
        out[i] = code[q] * absmax[i / blockSize];
    }
}
