// The emulated CUDA device's internal interface: what the kernel translation units (the
// project's .cu files compiled as C++ with kernel.h) and the runtime (driver API, cuBLAS,
// NVRTC in runtime.cpp) share. Nothing here is exported from the shared library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace tsemu {

struct Dim3 {
    unsigned x, y, z;
};

// A kernel's signature, as the C++ compiler sees the function the .cu file defines.
struct KernelSignature {
    std::vector<std::size_t> sizes;       // sizeof each parameter, in order
    std::vector<bool> pointers;           // which parameters are pointers (checked at launch)
    std::vector<bool> floats;             // which are float or double (for the PTX NVRTC returns)
    // Copies the parameters out of cuLaunchKernel's void** (the driver copies them during the call).
    void* (*pack)(void** params);
    // Runs the kernel body for the current emulated thread on packed parameters.
    void (*invoke)(const void* function, const void* packed);
    void (*release)(void* packed);
};

struct KernelEntry {
    const char* name;
    const void* function;
    KernelSignature signature;
};

template <class... A>
struct Signature {
    using Packed = std::tuple<std::remove_cv_t<A>...>;

    template <std::size_t... I>
    static Packed* unpack(void** params, std::index_sequence<I...>) {
        return new Packed(*static_cast<std::remove_cv_t<A>*>(params[I])...);
    }

    static void* pack(void** params) { return unpack(params, std::index_sequence_for<A...>{}); }

    static void invoke(const void* function, const void* packed) {
        auto f = reinterpret_cast<void (*)(A...)>(const_cast<void*>(function));
        std::apply(f, *static_cast<const Packed*>(packed));
    }

    static void release(void* packed) { delete static_cast<Packed*>(packed); }
};

template <class... A>
KernelEntry kernel(const char* name, void (*function)(A...)) {
    return KernelEntry{name, reinterpret_cast<const void*>(function),
                       KernelSignature{{sizeof(A)...}, {std::is_pointer_v<A>...}, {std::is_floating_point_v<A>...}, &Signature<A...>::pack,
                                       &Signature<A...>::invoke, &Signature<A...>::release}};
}

// One .cu file: its kernels and the exact source text (NVRTC accepts only that text).
struct ModuleSource {
    const char* module;
    const char* source;
    std::vector<KernelEntry> kernels;
};

// Called by the generated registration of each kernel translation unit, at load time.
int register_module(const ModuleSource* module);
// Called by the generated registration of each header (e.g. common.cuh) NVRTC receives.
int register_header(const char* name, const char* text);

// ---------------------------------------------------------------- emulated threads

enum class FiberState : int { Ready, WaitBlock, WaitWarp, Done };

struct Fiber {
    void* sp;
    FiberState state;
    Dim3 threadIdx;
    int linear;   // x + y*Dx + z*Dx*Dy
};

// What every thread of a launch runs: the kernel on its packed parameters.
struct LaunchBody {
    void (*invoke)(const void* function, const void* packed);
    const void* function;
    const void* packed;
};

struct Block {
    Dim3 blockIdx, blockDim, gridDim;
    LaunchBody launch;
    Fiber* fibers;
    int threads;
    void* schedulerSp;
    uint64_t warpSlots[32][32];   // [warp][lane], values exchanged by shuffles and votes
    void* dynamicShared;          // cuLaunchKernel's sharedMemBytes, for `extern __shared__` arrays
    const char* failure;          // set when a thread breaks the execution model
    bool illegalAddress;          // the failure is a memory fault
};

extern thread_local Fiber* currentFiber;
extern thread_local Block* currentBlock;

// __syncthreads(): waits until every live thread of the block arrives.
void syncBlock();
// Waits until every live lane of the calling thread's warp arrives.
void syncWarp();
// Marks the running kernel failed (reported as a launch failure at the next synchronisation).
void fail(const char* why);

}  // namespace tsemu
