// The emulated device's state shared by the driver API (driver.cpp), cuBLAS (cublas.cpp) and
// NVRTC (nvrtc.cpp): device memory, streams, the kernel registry.
#pragma once

#include <condition_variable>
#include <cstdarg>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "emulator.h"
#include "libraries.h"

namespace tsemu {

// One line on stderr, prefixed; the emulator's way to say which check failed and why.
void report(const char* format, ...) __attribute__((format(printf, 1, 2)));

// ---------------------------------------------------------------- device memory

// Device memory is host memory in an address range of its own: every allocation gets fresh
// pages ending at a guard page, freed pages become inaccessible and are never handed out
// again, and every pointer the API receives is checked against the live allocations.
bool isDeviceRange(CUdeviceptr p, std::size_t bytes);   // [p, p+bytes) inside one live allocation
bool isDevicePointer(CUdeviceptr p);                    // inside (or one past) a live allocation
bool inDeviceAddressSpace(const void* host);           // a device address passed as a host one
bool isPinned(const void* host, std::size_t bytes);    // from cuMemAllocHost
std::string describe(CUdeviceptr p);                    // "0x... (N bytes past allocation 0x... of M bytes)"

// ---------------------------------------------------------------- streams

// Work on a stream runs in order on the stream's own host thread, started only when the host
// synchronises with the stream (or the queue grows long), so a host read that skips a
// synchronisation sees the data from before the work.
struct Stream {
    struct Task {
        std::function<CUresult()> run;
    };

    std::mutex mutex;
    std::condition_variable wake, finished;
    std::deque<Task> queue;
    uint64_t submitted = 0, completed = 0, flushTo = 0;
    bool stopping = false;
    std::thread worker;

    Stream();
    ~Stream();
    void enqueue(std::function<CUresult()> run);
    // Waits until everything enqueued so far has run.
    void synchronize();
    // The count of tasks enqueued so far: an event recorded now completes when that many have run.
    uint64_t ticket();
    // Waits until the first `target` tasks have run (starting them if needed).
    void synchronizeTo(uint64_t target);

private:
    void work();
};

// The stream a handle names (NULL, CU_STREAM_LEGACY and CU_STREAM_PER_THREAD are the default
// stream), or null for a handle that is not a live stream.
Stream* stream(CUstream handle);
// Every stream, before a synchronous API call.
void synchronizeAll();
// The first error a kernel or copy met on any stream. Work enqueued after it is dropped, and the
// next synchronising call returns it; unlike a GPU's sticky error, it is then cleared, so one
// test's deliberate fault does not fail every later test in the JVM.
CUresult stickyError();
void setStickyError(CUresult error);
CUresult takeError();
// CUDA_SUCCESS when the driver is initialised and the calling thread has the context current.
CUresult requireContext();

// ---------------------------------------------------------------- kernels

const KernelEntry* findKernel(const std::string& name);
const ModuleSource* findModule(const std::string& module);
const char* findHeader(const std::string& name);

}  // namespace tsemu
