// CUDA C++ as plain C++17: included before each of the project's .cu files when the emulated
// device is built. Every CUDA thread of a block runs as a fiber on one host thread; the
// built-ins below read the running fiber's coordinates, and __syncthreads / warp shuffles /
// votes are real barriers across those fibers (see runtime.cpp). Only what the kernels use
// is here: a kernel that needs more fails to compile, which is the point.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "emulator.h"

#define TESSERA_CUDA_EMULATOR 1

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Static shared memory: one copy per host thread, and blocks run one at a time per host thread.
#define __shared__ static thread_local
#define __constant__ static

typedef tsemu::Dim3 uint3;
typedef tsemu::Dim3 dim3;

// CUDA's built-in vector types (the few kernels commonly use), with their alignment
struct __attribute__((aligned(8))) float2 { float x, y; };
struct __attribute__((aligned(16))) float4 { float x, y, z, w; };
struct __attribute__((aligned(8))) int2 { int x, y; };
struct __attribute__((aligned(16))) int4 { int x, y, z, w; };
struct __attribute__((aligned(4))) uchar4 { unsigned char x, y, z, w; };
inline float2 make_float2(float x, float y) { return float2{x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }

// `extern __shared__ T name[];` is rewritten by build.sh to a #define of name as this, cast to T*.
namespace tsemu {
inline void* dynamicShared() { return currentBlock->dynamicShared; }
}

#define threadIdx (::tsemu::currentFiber->threadIdx)
#define blockIdx (::tsemu::currentBlock->blockIdx)
#define blockDim (::tsemu::currentBlock->blockDim)
#define gridDim (::tsemu::currentBlock->gridDim)
#define warpSize 32

inline void __syncthreads() { tsemu::syncBlock(); }
inline void __syncwarp(unsigned = 0xffffffffu) { tsemu::syncWarp(); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

// ---------------------------------------------------------------- bit casts and intrinsics

inline float __int_as_float(int v) { float f; memcpy(&f, &v, 4); return f; }
inline float __uint_as_float(unsigned v) { float f; memcpy(&f, &v, 4); return f; }
inline int __float_as_int(float f) { int v; memcpy(&v, &f, 4); return v; }
inline unsigned __float_as_uint(float f) { unsigned v; memcpy(&v, &f, 4); return v; }
inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, 8); return d; }
inline long long __double_as_longlong(double d) { long long v; memcpy(&v, &d, 8); return v; }

inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __saturatef(float x) { return x != x ? 0.0f : fminf(fmaxf(x, 0.0f), 1.0f); }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
inline int __clz(int v) { return v == 0 ? 32 : __builtin_clz((unsigned)v); }
inline int __ffs(int v) { return __builtin_ffs(v); }
template <class T> inline T __ldg(const T* p) { return *p; }

// CUDA's device min/max overloads
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }

// IEEE binary16 <-> binary32, round to nearest even: what cvt.f32.f16 / cvt.rn.f16.f32 do
// (the kernels' inline PTX has this C++ equivalent behind #ifdef TESSERA_CUDA_EMULATOR).
inline float tsemu_f16_to_float(unsigned short h) {
    unsigned sign = (unsigned)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1Fu, mant = h & 0x3FFu;
    unsigned bits;
    if (exp == 0x1F) {
        bits = sign | 0x7F800000u | (mant << 13) | (mant ? 0x00400000u : 0u);
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {   // subnormal: normalise
        int e = -1;
        do { mant <<= 1; e++; } while ((mant & 0x400u) == 0);
        bits = sign | ((unsigned)(112 - e) << 23) | ((mant & 0x3FFu) << 13);
    }
    return __uint_as_float(bits);
}

inline unsigned short tsemu_float_to_f16(float f) {
    unsigned u = __float_as_uint(f);
    unsigned short sign = (unsigned short)((u >> 16) & 0x8000u);
    unsigned exp = (u >> 23) & 0xFFu, mant = u & 0x7FFFFFu;
    if (exp == 0xFF) return (unsigned short)(sign | 0x7C00u | (mant ? 0x200u : 0u));
    int e = (int)exp - 127 + 15;
    if (e >= 31) return (unsigned short)(sign | 0x7C00u);
    if (e <= 0) {
        if (e < -10) return sign;
        mant |= 0x800000u;
        int shift = 14 - e;
        unsigned half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return (unsigned short)(sign | half);
    }
    unsigned half = ((unsigned)e << 10) | (mant >> 13), rem = mant & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) half++;   // may carry into the exponent: correct
    return (unsigned short)(sign | half);
}

// ---------------------------------------------------------------- atomics (return the old value)

// The value parameter does not take part in deduction, so atomicExch(int*, ENUM_CONSTANT) picks int
// as CUDA's overloads do.
template <class T> struct tsemu_same { using type = T; };
template <class T> using tsemu_value = typename tsemu_same<T>::type;

template <class T> inline T atomicAdd(T* p, tsemu_value<T> v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
template <class T> inline T atomicSub(T* p, tsemu_value<T> v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
template <class T> inline T atomicExch(T* p, tsemu_value<T> v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
template <class T> inline T atomicAnd(T* p, tsemu_value<T> v) { return __atomic_fetch_and(p, v, __ATOMIC_RELAXED); }
template <class T> inline T atomicOr(T* p, tsemu_value<T> v) { return __atomic_fetch_or(p, v, __ATOMIC_RELAXED); }
template <class T> inline T atomicXor(T* p, tsemu_value<T> v) { return __atomic_fetch_xor(p, v, __ATOMIC_RELAXED); }
template <class T> inline T atomicCAS(T* p, tsemu_value<T> expected, tsemu_value<T> v) {
    __atomic_compare_exchange_n(p, &expected, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return expected;
}
template <class T> inline T atomicMax(T* p, tsemu_value<T> v) {
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (old < v && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
    return old;
}
template <class T> inline T atomicMin(T* p, tsemu_value<T> v) {
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (old > v && !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
    return old;
}
inline float atomicExch(float* p, float v) {
    unsigned old = __atomic_exchange_n(reinterpret_cast<unsigned*>(p), __float_as_uint(v), __ATOMIC_RELAXED);
    return __uint_as_float(old);
}
inline float atomicAdd(float* p, float v) {
    unsigned* w = reinterpret_cast<unsigned*>(p);
    unsigned old = __atomic_load_n(w, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(w, &old, __float_as_uint(__uint_as_float(old) + v), true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {}
    return __uint_as_float(old);
}
inline double atomicAdd(double* p, double v) {
    unsigned long long* w = reinterpret_cast<unsigned long long*>(p);
    unsigned long long old = __atomic_load_n(w, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(w, &old, (unsigned long long)__double_as_longlong(__longlong_as_double((long long)old) + v),
                                        true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {}
    return __longlong_as_double((long long)old);
}

// ---------------------------------------------------------------- warps of 32 lanes

namespace tsemu {

inline int lane() { return currentFiber->linear & 31; }
inline int warp() { return currentFiber->linear >> 5; }

// Every lane publishes its value, the warp meets, each reads lane src(lane), the warp meets
// again (so no lane overwrites a slot another has not read yet).
template <class T, class Source>
inline T exchange(T v, Source src) {
    static_assert(sizeof(T) <= 8, "warp shuffles move at most 64 bits");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    Block* b = currentBlock;
    int w = warp(), l = lane();
    b->warpSlots[w][l] = bits;
    syncWarp();
    int from = src(l);
    int fromLinear = w * 32 + from;
    if (fromLinear >= b->threads || b->fibers[fromLinear].state == FiberState::Done) {
        fail("a warp shuffle read a lane that has exited or does not exist");
    }
    uint64_t got = b->warpSlots[w][from];
    syncWarp();
    T out;
    memcpy(&out, &got, sizeof(T));
    return out;
}

}  // namespace tsemu

template <class T> inline T __shfl_sync(unsigned, T v, int srcLane, int width = 32) {
    return tsemu::exchange(v, [=](int l) { return (l & ~(width - 1)) + (srcLane & (width - 1)); });
}
template <class T> inline T __shfl_xor_sync(unsigned, T v, int laneMask, int width = 32) {
    return tsemu::exchange(v, [=](int l) {
        int s = l ^ laneMask;
        return (s & ~(width - 1)) == (l & ~(width - 1)) ? s : l;
    });
}
template <class T> inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
    return tsemu::exchange(v, [=](int l) { return (l & (width - 1)) + (int)delta < width ? l + (int)delta : l; });
}
template <class T> inline T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
    return tsemu::exchange(v, [=](int l) { return (l & (width - 1)) >= (int)delta ? l - (int)delta : l; });
}

inline unsigned __ballot_sync(unsigned mask, int predicate) {
    tsemu::Block* b = tsemu::currentBlock;
    int w = tsemu::warp();
    b->warpSlots[w][tsemu::lane()] = predicate != 0 ? 1u : 0u;
    tsemu::syncWarp();
    unsigned bits = 0;
    for (int k = 0; k < 32; k++) {
        int linear = w * 32 + k;
        if (linear < b->threads && b->fibers[linear].state != tsemu::FiberState::Done && b->warpSlots[w][k] != 0) {
            bits |= 1u << k;
        }
    }
    tsemu::syncWarp();
    return bits & mask;
}
inline int __any_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) { return __ballot_sync(mask, predicate) == mask; }
