// Blockwise 8-bit codes with a 256-entry ascending map (bitsandbytes' quantize_blockwise), as the
// CPU backend's Blockwise8: absmax per block, each value the index of the nearest map entry to
// x / absmax (the lowest index on a tie), 0 / 0 read as 0.
#include "common.cuh"

// One block of threads per quantization block.
extern "C" __global__ void quantize_8bit(const float* x, const float* map, int blocksize, unsigned char* codes,
                                         float* absmax, i64 n, int* error) {
    i64 start = (i64)blockIdx.x * blocksize;
    i64 end = start + blocksize < n ? start + blocksize : n;
    float m = 0.0f;
    int bad = 0;
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
        float v = x[i];
        if (!is_finite(v)) bad = 1;
        m = fmaxf(m, fabsf(v));
    }
    m = block_max(m);
    if (bad) atomicCAS(error, 0, ERR_NONFINITE_QUANT);
    if (threadIdx.x == 0) absmax[blockIdx.x] = m;
    for (i64 i = start + threadIdx.x; i < end; i += blockDim.x) {
        codes[i] = (unsigned char)nearest_code(map, m == 0.0f ? 0.0f : x[i] / m);
    }
}

extern "C" __global__ void dequantize_8bit(const unsigned char* codes, const float* absmax, const float* map,
                                           int blocksize, float* out, i64 n) {
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        out[i] = map[codes[i]] * absmax[i / blocksize];
    }
}
