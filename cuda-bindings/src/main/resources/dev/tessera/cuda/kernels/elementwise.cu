// Elementwise kernels: copy with casts, fill, unary ops and their derivatives, binary ops with
// broadcasting strides, comparisons and where. Scalar rules follow dev.tessera.core.cpu.Elements.
#include "common.cuh"

// dev.tessera.core.Backend.UnaryOp, by name (the host checks the numbering).
enum {
    UOP_NEG = 0, UOP_EXP = 1, UOP_LOG = 2, UOP_SQRT = 3, UOP_RSQRT = 4, UOP_TANH = 5, UOP_ABS = 6,
    UOP_GELU_TANH = 7, UOP_SILU = 8, UOP_SIGMOID = 9, UOP_RELU = 10, UOP_POW_SCALAR = 11, UOP_CLAMP = 12,
    UOP_ADD_SCALAR = 13, UOP_MUL_SCALAR = 14
};

// dev.tessera.core.Backend.BinaryOp, by name.
enum {
    BOP_ADD = 0, BOP_SUB = 1, BOP_MUL = 2, BOP_DIV = 3, BOP_POW = 4, BOP_MAXIMUM = 5, BOP_MINIMUM = 6,
    BOP_EQ = 7, BOP_NE = 8, BOP_LT = 9, BOP_LE = 10, BOP_GT = 11, BOP_GE = 12
};

#define SQRT_2_OVER_PI 0.7978845608028654f
#define GELU_C 0.044715f

// dst[i] = cast(src[i]) over a strided n-d shape; same dtypes copy bits.
extern "C" __global__ void copy_cast(const void* src, int srcType, void* dst, int dstType, i64 n,
                                     Dims dims, Strides srcStrides, Strides dstStrides, int elemSize) {
    i64 o[4];
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        strided_offsets(i, dims, dstStrides, srcStrides, srcStrides, srcStrides, o);
        i64 d = o[0], s = o[1];
        if (srcType == dstType) {
            switch (elemSize) {
                case 1: ((unsigned char*)dst)[d] = ((const unsigned char*)src)[s]; break;
                case 2: ((unsigned short*)dst)[d] = ((const unsigned short*)src)[s]; break;
                case 4: ((unsigned*)dst)[d] = ((const unsigned*)src)[s]; break;
                default: ((u64*)dst)[d] = ((const u64*)src)[s]; break;
            }
        } else if (srcType >= DT_I64 && dstType >= DT_I64) {
            store_long(dst, dstType, d, load_long(src, srcType, s));
        } else {
            store_double(dst, dstType, d, load_double(src, srcType, s));
        }
    }
}

// Every element of the contiguous dst set to the low elemSize bytes of bits.
extern "C" __global__ void fill_bits(void* dst, int elemSize, u64 bits, i64 n) {
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        switch (elemSize) {
            case 1: ((unsigned char*)dst)[i] = (unsigned char)bits; break;
            case 2: ((unsigned short*)dst)[i] = (unsigned short)bits; break;
            case 4: ((unsigned*)dst)[i] = (unsigned)bits; break;
            default: ((u64*)dst)[i] = bits; break;
        }
    }
}

__device__ float gelu(float x) {
    float inner = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
    return 0.5f * x * (1.0f + tanhf(inner));
}

__device__ float gelu_derivative(float x) {
    float x2 = x * x;
    float t = tanhf(SQRT_2_OVER_PI * (x + GELU_C * x2 * x));
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * SQRT_2_OVER_PI * (1.0f + 3.0f * GELU_C * x2);
}

__device__ float unary_value(int op, float x, float p1, float p2) {
    switch (op) {
        case UOP_NEG: return -x;
        case UOP_EXP: return expf(x);
        case UOP_LOG: return logf(x);
        case UOP_SQRT: return sqrtf(x);
        case UOP_RSQRT: return 1.0f / sqrtf(x);
        case UOP_TANH: return tanhf(x);
        case UOP_ABS: return fabsf(x);
        case UOP_GELU_TANH: return gelu(x);
        case UOP_SILU: return x / (1.0f + expf(-x));
        case UOP_SIGMOID: return 1.0f / (1.0f + expf(-x));
        case UOP_RELU: return x > 0.0f ? x : 0.0f;
        case UOP_POW_SCALAR: return p1 == 2.0f ? x * x : powf(x, p1);
        case UOP_CLAMP: return x != x ? x : fminf(fmaxf(x, p1), p2);
        case UOP_ADD_SCALAR: return x + p1;
        default: return x * p1;   // UOP_MUL_SCALAR
    }
}

__device__ float unary_derivative(int op, float x, float p1, float p2) {
    switch (op) {
        case UOP_NEG: return -1.0f;
        case UOP_EXP: return expf(x);
        case UOP_LOG: return 1.0f / x;
        case UOP_SQRT: return 0.5f / sqrtf(x);
        case UOP_RSQRT: return -0.5f * powf(x, -1.5f);
        case UOP_TANH: { float t = tanhf(x); return 1.0f - t * t; }
        case UOP_ABS: return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f);
        case UOP_GELU_TANH: return gelu_derivative(x);
        case UOP_SILU: { float s = 1.0f / (1.0f + expf(-x)); return s * (1.0f + x * (1.0f - s)); }
        case UOP_SIGMOID: { float s = 1.0f / (1.0f + expf(-x)); return s * (1.0f - s); }
        case UOP_RELU: return x > 0.0f ? 1.0f : 0.0f;
        case UOP_POW_SCALAR: return p1 == 0.0f ? 0.0f : (p1 == 2.0f ? 2.0f * x : p1 * powf(x, p1 - 1.0f));
        case UOP_CLAMP: return x >= p1 && x <= p2 ? 1.0f : 0.0f;
        case UOP_ADD_SCALAR: return 1.0f;
        default: return p1;       // UOP_MUL_SCALAR
    }
}

// out = op(x), contiguous F32.
extern "C" __global__ void unary_f32(int op, const float* x, float* out, i64 n, float p1, float p2) {
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        out[i] = unary_value(op, x[i], p1, p2);
    }
}

// dx = dy * op'(x), contiguous F32.
extern "C" __global__ void unary_backward_f32(int op, const float* x, const float* dy, float* dx, i64 n,
                                              float p1, float p2) {
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        dx[i] = dy[i] * unary_derivative(op, x[i], p1, p2);
    }
}

__device__ float binary_value(int op, float a, float b) {
    switch (op) {
        case BOP_ADD: return a + b;
        case BOP_SUB: return a - b;
        case BOP_MUL: return a * b;
        case BOP_DIV: return a / b;
        case BOP_POW: return b == 2.0f ? a * a : powf(a, b);
        case BOP_MAXIMUM: return a != a || b != b ? TS_NAN : fmaxf(a, b);
        default: return a != a || b != b ? TS_NAN : fminf(a, b);   // BOP_MINIMUM
    }
}

// out = a op b over a strided n-d shape (strides of 0 broadcast), F32.
extern "C" __global__ void binary_f32(int op, const float* a, const float* b, float* out, i64 n,
                                      Dims dims, Strides sa, Strides sb, Strides so) {
    i64 o[4];
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        strided_offsets(i, dims, so, sa, sb, sb, o);
        out[o[0]] = binary_value(op, a[o[1]], b[o[2]]);
    }
}

// out = a op b as BOOL for the comparison ops, inputs of any dtype compared as doubles.
extern "C" __global__ void compare(int op, int inType, const void* a, const void* b, unsigned char* out, i64 n,
                                   Dims dims, Strides sa, Strides sb, Strides so) {
    i64 o[4];
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        strided_offsets(i, dims, so, sa, sb, sb, o);
        double x = load_double(a, inType, o[1]), y = load_double(b, inType, o[2]);
        bool r;
        switch (op) {
            case BOP_EQ: r = x == y; break;
            case BOP_NE: r = x != y; break;
            case BOP_LT: r = x < y; break;
            case BOP_LE: r = x <= y; break;
            case BOP_GT: r = x > y; break;
            default: r = x >= y; break;   // BOP_GE
        }
        out[o[0]] = r ? 1 : 0;
    }
}

// out = cond ? a : b over a strided n-d shape; cond BOOL, a b out F32.
extern "C" __global__ void where_f32(const unsigned char* cond, const float* a, const float* b, float* out, i64 n,
                                     Dims dims, Strides sc, Strides sa, Strides sb, Strides so) {
    i64 o[4];
    for (i64 i = global_index(); i < n; i += grid_stride()) {
        strided_offsets(i, dims, so, sc, sa, sb, o);
        out[o[0]] = cond[o[1]] != 0 ? a[o[2]] : b[o[3]];
    }
}
