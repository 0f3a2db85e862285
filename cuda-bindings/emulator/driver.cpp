// The CUDA driver API subset CudaBackend calls, on the emulated device. Prototypes come from
// cuda.h (the toolkit's where installed), so a definition that does not match the real ABI
// does not compile.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "device.h"
#include "threads.h"

#define EXPORT extern "C" __attribute__((visibility("default")))

struct CUctx_st {
    int retained = 0;
};

struct CUmod_st {
    std::vector<std::string> entries;
};

struct CUfunc_st {
    const tsemu::KernelEntry* kernel;
};

struct CUstream_st {
    tsemu::Stream stream;
};

// An event is a point in one stream's order: complete when the stream has run `ticket` tasks.
struct CUevent_st {
    CUstream_st* stream = nullptr;   // null until recorded
    uint64_t ticket = 0;
};

namespace tsemu {

void report(const char* format, ...) {
    char line[1024];
    va_list args;
    va_start(args, format);
    std::vsnprintf(line, sizeof line, format, args);
    va_end(args);
    std::fprintf(stderr, "[tessera cuda emulator] %s\n", line);
    std::fflush(stderr);
}

namespace {

constexpr const char* DEVICE_NAME = "Tessera emulated CUDA device (CPU)";
constexpr int DRIVER_VERSION = 13000;
constexpr int CC_MAJOR = 9, CC_MINOR = 0;
constexpr std::size_t PAGE = 4096;
constexpr std::size_t ALIGNMENT = 256;   // cuMemAlloc's guarantee

std::atomic<bool> initialised{false};
std::atomic<int> sticky{CUDA_SUCCESS};
CUctx_st primary;
thread_local CUctx_st* current = nullptr;

// ---------------------------------------------------------------- memory

struct Allocation {
    uintptr_t start;
    std::size_t bytes;
    uintptr_t mapStart;
    std::size_t mapBytes;
};

std::size_t parseBytes(const char* text, std::size_t fallback) {
    if (text == nullptr || *text == 0) return fallback;
    char* end;
    double v = std::strtod(text, &end);
    switch (*end) {
        case 'k': case 'K': v *= 1024.0; break;
        case 'm': case 'M': v *= 1024.0 * 1024; break;
        case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
        default: break;
    }
    return v > 0 ? (std::size_t)v : fallback;
}

struct DeviceMemory {
    std::mutex mutex;
    uintptr_t base = 0, limit = 0, next = 0;
    std::size_t used = 0;
    // TESSERA_CUDA_EMULATOR_MEMORY (e.g. "512m") sets the emulated device's size; 8 GiB by default.
    std::size_t total = parseBytes(std::getenv("TESSERA_CUDA_EMULATOR_MEMORY"), std::size_t(8) << 30);
    std::map<uintptr_t, Allocation> live;   // by start
    std::map<uintptr_t, std::size_t> pinned;

    DeviceMemory() {
        // address space only: pages become real when allocated
        for (std::size_t reserve = std::size_t(1) << 40; reserve >= (std::size_t(1) << 32); reserve >>= 1) {
            void* p = mmap(nullptr, reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (p != MAP_FAILED) {
                base = next = reinterpret_cast<uintptr_t>(p);
                limit = base + reserve;
                break;
            }
        }
    }

    const Allocation* containing(uintptr_t p) {
        auto it = live.upper_bound(p);
        if (it == live.begin()) return nullptr;
        --it;
        return p <= it->second.start + it->second.bytes ? &it->second : nullptr;
    }
};

DeviceMemory& memory() {
    static DeviceMemory* m = new DeviceMemory();   // never destroyed: streams may outlive static destructors
    return *m;
}

// ---------------------------------------------------------------- registry

struct Registry {
    std::mutex mutex;
    std::map<std::string, const KernelEntry*> kernels;
    std::map<std::string, const ModuleSource*> modules;
    std::map<std::string, const char*> headers;
    std::map<const KernelEntry*, std::unique_ptr<CUfunc_st>> functions;
};

Registry& registry() {
    static Registry* r = new Registry();
    return *r;
}

// ---------------------------------------------------------------- streams

struct Streams {
    std::mutex mutex;
    std::set<CUstream_st*> live;
    CUstream_st* defaultStream = nullptr;
};

Streams& streams() {
    static Streams* s = new Streams();
    return *s;
}

CUstream_st* defaultStream() {
    Streams& s = streams();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.defaultStream == nullptr) {
        s.defaultStream = new CUstream_st();
        s.live.insert(s.defaultStream);
    }
    return s.defaultStream;
}

CUresult checkHostPointer(const void* host, std::size_t bytes, const char* call) {
    if (bytes > 0 && host == nullptr) {
        report("%s: the host pointer is NULL", call);
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (inDeviceAddressSpace(host)) {
        report("%s: %p is a device address, passed where a host pointer belongs", call, host);
        return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

CUresult checkDevice(CUdeviceptr p, std::size_t bytes, const char* call, const char* role) {
    if (!isDeviceRange(p, bytes)) {
        report("%s: %s [%s, +%zu bytes) is not inside one live device allocation", call, role, describe(p).c_str(), bytes);
        return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

#define CHECK(expr)                              \
    do {                                         \
        CUresult check_result_ = (expr);         \
        if (check_result_ != CUDA_SUCCESS) return check_result_; \
    } while (0)

}  // namespace

// ---------------------------------------------------------------- tsemu interface

bool isDeviceRange(CUdeviceptr p, std::size_t bytes) {
    DeviceMemory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    const Allocation* a = m.containing(p);
    return a != nullptr && bytes <= a->start + a->bytes - p;
}

bool isDevicePointer(CUdeviceptr p) {
    DeviceMemory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    return m.containing(p) != nullptr;
}

bool inDeviceAddressSpace(const void* host) {
    DeviceMemory& m = memory();
    uintptr_t p = reinterpret_cast<uintptr_t>(host);
    return p >= m.base && p < m.limit;
}

bool isPinned(const void* host, std::size_t bytes) {
    DeviceMemory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    uintptr_t p = reinterpret_cast<uintptr_t>(host);
    auto it = m.pinned.upper_bound(p);
    if (it == m.pinned.begin()) return false;
    --it;
    return p >= it->first && p + bytes <= it->first + it->second;
}

std::string describe(CUdeviceptr p) {
    DeviceMemory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    char text[200];
    auto it = m.live.upper_bound(p);
    if (p < m.base || p >= m.limit) {
        std::snprintf(text, sizeof text, "0x%llx (outside the device address space)", (unsigned long long)p);
    } else if (it == m.live.begin()) {
        std::snprintf(text, sizeof text, "0x%llx (below every live allocation)", (unsigned long long)p);
    } else {
        --it;
        const Allocation& a = it->second;
        if (p < a.start + a.bytes) {
            std::snprintf(text, sizeof text, "0x%llx (%lld bytes into live allocation 0x%llx of %zu bytes)",
                          (unsigned long long)p, (long long)(p - a.start), (unsigned long long)a.start, a.bytes);
        } else {
            std::snprintf(text, sizeof text, "0x%llx (%lld bytes past the end of live allocation 0x%llx of %zu bytes)",
                          (unsigned long long)p, (long long)(p - a.start - a.bytes), (unsigned long long)a.start, a.bytes);
        }
    }
    return text;
}

Stream::Stream() : worker([this] { work(); }) {}

Stream::~Stream() {
    {
        std::lock_guard<std::mutex> lock(mutex);
        stopping = true;
        flushTo = submitted;
    }
    wake.notify_all();
    worker.join();
}

void Stream::enqueue(std::function<CUresult()> run) {
    std::lock_guard<std::mutex> lock(mutex);
    queue.push_back(Task{std::move(run)});
    submitted++;
    wake.notify_all();
}

void Stream::synchronize() {
    synchronizeTo(ticket());
}

uint64_t Stream::ticket() {
    std::lock_guard<std::mutex> lock(mutex);
    return submitted;
}

void Stream::synchronizeTo(uint64_t target) {
    std::unique_lock<std::mutex> lock(mutex);
    flushTo = std::max(flushTo, target);
    wake.notify_all();
    finished.wait(lock, [&] { return completed >= target; });
}

void Stream::work() {
    // Work starts only when the host waits for it, or when more than MAX_QUEUED tasks wait (as a
    // GPU's launch queue fills): never by timing, so a missing synchronisation fails every time.
    constexpr std::size_t MAX_QUEUED = 256;
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
        wake.wait(lock, [&] { return (!queue.empty() && (completed < flushTo || queue.size() > MAX_QUEUED)) ||
                                     (stopping && queue.empty()); });
        if (queue.empty()) return;   // stopping
        Task task = std::move(queue.front());
        queue.pop_front();
        lock.unlock();
        if (stickyError() == CUDA_SUCCESS) {
            CUresult r = task.run();
            if (r != CUDA_SUCCESS) setStickyError(r);
        }
        task.run = nullptr;   // release what the task holds before reporting completion
        lock.lock();
        completed++;
        finished.notify_all();
    }
}

Stream* stream(CUstream handle) {
    if (handle == nullptr || handle == CU_STREAM_LEGACY || handle == CU_STREAM_PER_THREAD) {
        return &defaultStream()->stream;
    }
    Streams& s = streams();
    std::lock_guard<std::mutex> lock(s.mutex);
    return s.live.count(handle) ? &handle->stream : nullptr;
}

void synchronizeAll() {
    std::vector<CUstream_st*> all;
    {
        Streams& s = streams();
        std::lock_guard<std::mutex> lock(s.mutex);
        all.assign(s.live.begin(), s.live.end());
    }
    for (CUstream_st* st : all) st->stream.synchronize();
}

CUresult stickyError() { return (CUresult)sticky.load(); }

CUresult takeError() { return (CUresult)sticky.exchange(CUDA_SUCCESS); }

void setStickyError(CUresult error) {
    int expected = CUDA_SUCCESS;
    sticky.compare_exchange_strong(expected, error);
}

CUresult requireContext() {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    if (current == nullptr) return CUDA_ERROR_INVALID_CONTEXT;
    return CUDA_SUCCESS;
}

int register_module(const ModuleSource* module) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.modules[module->module] = module;
    for (const KernelEntry& k : module->kernels) {
        if (r.kernels.count(k.name)) {
            report("kernel %s is defined by two modules; cuModuleGetFunction will find the first", k.name);
            continue;
        }
        r.kernels[k.name] = &k;
        r.functions[&k] = std::unique_ptr<CUfunc_st>(new CUfunc_st{&k});
    }
    return 0;
}

int register_header(const char* name, const char* text) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.headers[name] = text;
    return 0;
}

const KernelEntry* findKernel(const std::string& name) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.kernels.find(name);
    return it == r.kernels.end() ? nullptr : it->second;
}

const ModuleSource* findModule(const std::string& module) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.modules.find(module);
    return it == r.modules.end() ? nullptr : it->second;
}

const char* findHeader(const std::string& name) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.headers.find(name);
    return it == r.headers.end() ? nullptr : it->second;
}

namespace {

CUfunc_st* functionOf(const KernelEntry* k) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    return r.functions[k].get();
}

bool isFunction(CUfunction f) {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    for (auto& e : r.functions) {
        if (e.second.get() == f) return true;
    }
    return false;
}

// ---------------------------------------------------------------- PTX

struct PtxEntry {
    std::string name;
    std::vector<std::size_t> sizes;
};

std::size_t ptxTypeBytes(const std::string& type) {
    if (type.size() < 2) return 0;
    int bits = std::atoi(type.c_str() + 1);
    if (type == "pred") return 1;
    return bits / 8;
}

// The .entry points of PTX text with their parameters' sizes in bytes.
std::vector<PtxEntry> parsePtx(const std::string& ptx) {
    std::vector<PtxEntry> out;
    std::size_t at = 0;
    while ((at = ptx.find(".entry", at)) != std::string::npos) {
        at += 6;
        std::size_t open = ptx.find('(', at), close = ptx.find(')', at);
        if (open == std::string::npos || close == std::string::npos || close < open) break;
        PtxEntry e;
        std::string name = ptx.substr(at, open - at);
        name.erase(std::remove_if(name.begin(), name.end(), [](char c) { return std::isspace((unsigned char)c); }),
                   name.end());
        e.name = name;
        std::string params = ptx.substr(open + 1, close - open - 1);
        std::size_t p = 0;
        while ((p = params.find(".param", p)) != std::string::npos) {
            std::size_t end = params.find(',', p);
            std::string decl = params.substr(p + 6, end == std::string::npos ? std::string::npos : end - p - 6);
            p = end == std::string::npos ? params.size() : end;
            // [.align N] .TYPE NAME[[COUNT]]
            std::vector<std::string> words;
            std::size_t w = 0;
            while (w < decl.size()) {
                while (w < decl.size() && std::isspace((unsigned char)decl[w])) w++;
                std::size_t s = w;
                while (w < decl.size() && !std::isspace((unsigned char)decl[w])) w++;
                if (w > s) words.push_back(decl.substr(s, w - s));
            }
            std::size_t i = 0;
            if (i < words.size() && words[i] == ".align") i += 2;
            if (i >= words.size()) break;
            std::size_t bytes = ptxTypeBytes(words[i].substr(1));
            if (i + 1 < words.size()) {
                std::size_t bracket = words[i + 1].find('[');
                if (bracket != std::string::npos) bytes *= std::strtoull(words[i + 1].c_str() + bracket + 1, nullptr, 10);
            }
            e.sizes.push_back(bytes);
        }
        out.push_back(e);
        at = close;
    }
    return out;
}

}  // namespace
}  // namespace tsemu

using namespace tsemu;

// ==================================================================== errors

EXPORT CUresult cuGetErrorName(CUresult error, const char** pStr) {
    if (pStr == nullptr) return CUDA_ERROR_INVALID_VALUE;
    switch (error) {
        case CUDA_SUCCESS: *pStr = "CUDA_SUCCESS"; break;
        case CUDA_ERROR_INVALID_VALUE: *pStr = "CUDA_ERROR_INVALID_VALUE"; break;
        case CUDA_ERROR_OUT_OF_MEMORY: *pStr = "CUDA_ERROR_OUT_OF_MEMORY"; break;
        case CUDA_ERROR_NOT_INITIALIZED: *pStr = "CUDA_ERROR_NOT_INITIALIZED"; break;
        case CUDA_ERROR_NO_DEVICE: *pStr = "CUDA_ERROR_NO_DEVICE"; break;
        case CUDA_ERROR_INVALID_DEVICE: *pStr = "CUDA_ERROR_INVALID_DEVICE"; break;
        case CUDA_ERROR_INVALID_IMAGE: *pStr = "CUDA_ERROR_INVALID_IMAGE"; break;
        case CUDA_ERROR_INVALID_CONTEXT: *pStr = "CUDA_ERROR_INVALID_CONTEXT"; break;
        case CUDA_ERROR_INVALID_PTX: *pStr = "CUDA_ERROR_INVALID_PTX"; break;
        case CUDA_ERROR_INVALID_HANDLE: *pStr = "CUDA_ERROR_INVALID_HANDLE"; break;
        case CUDA_ERROR_NOT_FOUND: *pStr = "CUDA_ERROR_NOT_FOUND"; break;
        case CUDA_ERROR_ILLEGAL_ADDRESS: *pStr = "CUDA_ERROR_ILLEGAL_ADDRESS"; break;
        case CUDA_ERROR_LAUNCH_FAILED: *pStr = "CUDA_ERROR_LAUNCH_FAILED"; break;
        case CUDA_ERROR_NOT_SUPPORTED: *pStr = "CUDA_ERROR_NOT_SUPPORTED"; break;
        default: *pStr = nullptr; return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuGetErrorString(CUresult error, const char** pStr) {
    if (pStr == nullptr) return CUDA_ERROR_INVALID_VALUE;
    switch (error) {
        case CUDA_SUCCESS: *pStr = "no error"; break;
        case CUDA_ERROR_INVALID_VALUE: *pStr = "invalid argument (the emulator's stderr line says which)"; break;
        case CUDA_ERROR_OUT_OF_MEMORY: *pStr = "out of memory"; break;
        case CUDA_ERROR_NOT_INITIALIZED: *pStr = "initialization error"; break;
        case CUDA_ERROR_NO_DEVICE: *pStr = "no CUDA-capable device is detected"; break;
        case CUDA_ERROR_INVALID_DEVICE: *pStr = "invalid device ordinal"; break;
        case CUDA_ERROR_INVALID_IMAGE: *pStr = "device kernel image is invalid"; break;
        case CUDA_ERROR_INVALID_CONTEXT: *pStr = "invalid device context"; break;
        case CUDA_ERROR_INVALID_PTX: *pStr = "a PTX JIT compilation failed"; break;
        case CUDA_ERROR_INVALID_HANDLE: *pStr = "invalid resource handle"; break;
        case CUDA_ERROR_NOT_FOUND: *pStr = "named symbol not found"; break;
        case CUDA_ERROR_ILLEGAL_ADDRESS: *pStr = "an illegal memory access was encountered"; break;
        case CUDA_ERROR_LAUNCH_FAILED: *pStr = "unspecified launch failure"; break;
        case CUDA_ERROR_NOT_SUPPORTED: *pStr = "operation not supported"; break;
        default: *pStr = nullptr; return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

// ==================================================================== device and context

EXPORT CUresult cuInit(unsigned int Flags) {
    if (Flags != 0) return CUDA_ERROR_INVALID_VALUE;
    if (memory().base == 0) return CUDA_ERROR_OUT_OF_MEMORY;
    initialised = true;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDriverGetVersion(int* driverVersion) {
    if (driverVersion == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *driverVersion = DRIVER_VERSION;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetCount(int* count) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    if (count == nullptr) return CUDA_ERROR_INVALID_VALUE;
    *count = 1;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice* device, int ordinal) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    if (device == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
    *device = 0;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char* name, int len, CUdevice dev) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (name == nullptr || len <= 0) return CUDA_ERROR_INVALID_VALUE;
    std::snprintf(name, (std::size_t)len, "%s", DEVICE_NAME);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetAttribute(int* pi, CUdevice_attribute attrib, CUdevice dev) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (pi == nullptr) return CUDA_ERROR_INVALID_VALUE;
    switch (attrib) {
        case CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK: *pi = MAX_THREADS_PER_BLOCK; break;
        case CU_DEVICE_ATTRIBUTE_WARP_SIZE: *pi = 32; break;
        case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT: *pi = 1; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: *pi = CC_MAJOR; break;
        case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR: *pi = CC_MINOR; break;
        default:
            report("cuDeviceGetAttribute: attribute %d is not emulated", (int)attrib);
            return CUDA_ERROR_INVALID_VALUE;
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext* pctx, CUdevice dev) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (pctx == nullptr) return CUDA_ERROR_INVALID_VALUE;
    primary.retained++;
    *pctx = &primary;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    if (dev != 0) return CUDA_ERROR_INVALID_DEVICE;
    if (primary.retained <= 0) return CUDA_ERROR_INVALID_CONTEXT;
    primary.retained--;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSetCurrent(CUcontext ctx) {
    if (!initialised) return CUDA_ERROR_NOT_INITIALIZED;
    if (ctx != nullptr && (ctx != &primary || primary.retained <= 0)) return CUDA_ERROR_INVALID_CONTEXT;
    current = ctx;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxSynchronize(void) {
    CHECK(requireContext());
    synchronizeAll();
    return takeError();
}

// ==================================================================== memory

EXPORT CUresult cuMemGetInfo_v2(size_t* free, size_t* total) {
    CHECK(requireContext());
    if (free == nullptr || total == nullptr) return CUDA_ERROR_INVALID_VALUE;
    DeviceMemory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    *total = m.total;
    *free = m.total - m.used;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytesize) {
    CHECK(requireContext());
    if (dptr == nullptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
    DeviceMemory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    std::size_t rounded = (bytesize + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    std::size_t pages = (rounded + PAGE - 1) / PAGE * PAGE;
    if (m.used + pages > m.total || m.next + pages + PAGE > m.limit) return CUDA_ERROR_OUT_OF_MEMORY;
    uintptr_t mapStart = m.next;
    if (mprotect(reinterpret_cast<void*>(mapStart), pages, PROT_READ | PROT_WRITE) != 0) return CUDA_ERROR_OUT_OF_MEMORY;
    m.next += pages + PAGE;   // the page after stays a guard
    // the block ends where the pages end, so running past its (256-byte rounded) end faults
    uintptr_t start = mapStart + pages - rounded;
    std::memset(reinterpret_cast<void*>(start), 0xFF, rounded);   // NaN-filled, as fresh memory is garbage
    m.live[start] = Allocation{start, bytesize, mapStart, pages};
    m.used += pages;
    *dptr = start;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr) {
    CHECK(requireContext());
    if (dptr == 0) return CUDA_SUCCESS;
    synchronizeAll();   // cuMemFree waits for work that may still use the block
    DeviceMemory& m = memory();
    std::unique_lock<std::mutex> lock(m.mutex);
    auto it = m.live.find(dptr);
    if (it == m.live.end()) {
        lock.unlock();
        report("cuMemFree: %s is not the start of a live allocation (freed twice, or never allocated)",
               describe(dptr).c_str());
        return CUDA_ERROR_INVALID_VALUE;
    }
    Allocation a = it->second;
    m.live.erase(it);
    m.used -= a.mapBytes;
    // the pages go back to the OS and stay inaccessible: a later use of the address faults
    mmap(reinterpret_cast<void*>(a.mapStart), a.mapBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
         -1, 0);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemAllocHost_v2(void** pp, size_t bytesize) {
    CHECK(requireContext());
    if (pp == nullptr || bytesize == 0) return CUDA_ERROR_INVALID_VALUE;
    void* p = nullptr;
    if (posix_memalign(&p, PAGE, bytesize) != 0) return CUDA_ERROR_OUT_OF_MEMORY;
    DeviceMemory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    m.pinned[reinterpret_cast<uintptr_t>(p)] = bytesize;
    *pp = p;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFreeHost(void* p) {
    CHECK(requireContext());
    synchronizeAll();
    DeviceMemory& m = memory();
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = m.pinned.find(reinterpret_cast<uintptr_t>(p));
    if (it == m.pinned.end()) {
        report("cuMemFreeHost: %p was not allocated by cuMemAllocHost (or was freed already)", p);
        return CUDA_ERROR_INVALID_VALUE;
    }
    m.pinned.erase(it);
    std::free(p);
    return CUDA_SUCCESS;
}

namespace {

CUresult enqueueOn(CUstream handle, const char* call, std::function<CUresult()> work) {
    Stream* s = stream(handle);
    if (s == nullptr) {
        report("%s: %p is not a live stream", call, (void*)handle);
        return CUDA_ERROR_INVALID_HANDLE;
    }
    s->enqueue(std::move(work));
    return CUDA_SUCCESS;
}

// A synchronous call: everything enqueued before runs first, as on the legacy default stream.
CUresult runNow(const std::function<CUresult()>& work) {
    synchronizeAll();
    CHECK(takeError());
    return work();
}

}  // namespace

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dstDevice, const void* srcHost, size_t ByteCount) {
    CHECK(requireContext());
    CHECK(checkDevice(dstDevice, ByteCount, "cuMemcpyHtoD", "destination"));
    CHECK(checkHostPointer(srcHost, ByteCount, "cuMemcpyHtoD"));
    return runNow([=] { std::memcpy(reinterpret_cast<void*>(dstDevice), srcHost, ByteCount); return CUDA_SUCCESS; });
}

EXPORT CUresult cuMemcpyDtoH_v2(void* dstHost, CUdeviceptr srcDevice, size_t ByteCount) {
    CHECK(requireContext());
    CHECK(checkDevice(srcDevice, ByteCount, "cuMemcpyDtoH", "source"));
    CHECK(checkHostPointer(dstHost, ByteCount, "cuMemcpyDtoH"));
    return runNow([=] { std::memcpy(dstHost, reinterpret_cast<const void*>(srcDevice), ByteCount); return CUDA_SUCCESS; });
}

EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount) {
    CHECK(requireContext());
    CHECK(checkDevice(dstDevice, ByteCount, "cuMemcpyDtoD", "destination"));
    CHECK(checkDevice(srcDevice, ByteCount, "cuMemcpyDtoD", "source"));
    return runNow([=] {
        std::memmove(reinterpret_cast<void*>(dstDevice), reinterpret_cast<const void*>(srcDevice), ByteCount);
        return CUDA_SUCCESS;
    });
}

EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dstDevice, const void* srcHost, size_t ByteCount, CUstream hStream) {
    CHECK(requireContext());
    CHECK(checkDevice(dstDevice, ByteCount, "cuMemcpyHtoDAsync", "destination"));
    CHECK(checkHostPointer(srcHost, ByteCount, "cuMemcpyHtoDAsync"));
    if (isPinned(srcHost, ByteCount)) {   // read when the copy runs, as a DMA from pinned memory does
        return enqueueOn(hStream, "cuMemcpyHtoDAsync", [=] {
            std::memcpy(reinterpret_cast<void*>(dstDevice), srcHost, ByteCount);
            return CUDA_SUCCESS;
        });
    }
    // from pageable memory the driver stages the bytes before returning
    auto staged = std::make_shared<std::vector<char>>(static_cast<const char*>(srcHost),
                                                      static_cast<const char*>(srcHost) + ByteCount);
    return enqueueOn(hStream, "cuMemcpyHtoDAsync", [=] {
        std::memcpy(reinterpret_cast<void*>(dstDevice), staged->data(), ByteCount);
        return CUDA_SUCCESS;
    });
}

// Stricter than the driver, which makes a copy to pageable memory synchronous: the copy runs in
// stream order like any other, so the host must synchronise before reading what it copied.
EXPORT CUresult cuMemcpyDtoHAsync_v2(void* dstHost, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) {
    CHECK(requireContext());
    CHECK(checkDevice(srcDevice, ByteCount, "cuMemcpyDtoHAsync", "source"));
    CHECK(checkHostPointer(dstHost, ByteCount, "cuMemcpyDtoHAsync"));
    return enqueueOn(hStream, "cuMemcpyDtoHAsync", [=] {
        std::memcpy(dstHost, reinterpret_cast<const void*>(srcDevice), ByteCount);
        return CUDA_SUCCESS;
    });
}

EXPORT CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dstDevice, CUdeviceptr srcDevice, size_t ByteCount, CUstream hStream) {
    CHECK(requireContext());
    CHECK(checkDevice(dstDevice, ByteCount, "cuMemcpyDtoDAsync", "destination"));
    CHECK(checkDevice(srcDevice, ByteCount, "cuMemcpyDtoDAsync", "source"));
    return enqueueOn(hStream, "cuMemcpyDtoDAsync", [=] {
        std::memmove(reinterpret_cast<void*>(dstDevice), reinterpret_cast<const void*>(srcDevice), ByteCount);
        return CUDA_SUCCESS;
    });
}

EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dstDevice, unsigned char uc, size_t N) {
    CHECK(requireContext());
    CHECK(checkDevice(dstDevice, N, "cuMemsetD8", "destination"));
    return runNow([=] { std::memset(reinterpret_cast<void*>(dstDevice), uc, N); return CUDA_SUCCESS; });
}

EXPORT CUresult cuMemsetD8Async(CUdeviceptr dstDevice, unsigned char uc, size_t N, CUstream hStream) {
    CHECK(requireContext());
    CHECK(checkDevice(dstDevice, N, "cuMemsetD8Async", "destination"));
    return enqueueOn(hStream, "cuMemsetD8Async", [=] {
        std::memset(reinterpret_cast<void*>(dstDevice), uc, N);
        return CUDA_SUCCESS;
    });
}

// ==================================================================== streams

EXPORT CUresult cuStreamCreate(CUstream* phStream, unsigned int Flags) {
    CHECK(requireContext());
    if (phStream == nullptr || Flags > 1) return CUDA_ERROR_INVALID_VALUE;
    CUstream_st* s = new CUstream_st();
    Streams& all = streams();
    std::lock_guard<std::mutex> lock(all.mutex);
    all.live.insert(s);
    *phStream = s;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamDestroy_v2(CUstream hStream) {
    CHECK(requireContext());
    Streams& all = streams();
    {
        std::lock_guard<std::mutex> lock(all.mutex);
        if (hStream == all.defaultStream || !all.live.count(hStream)) return CUDA_ERROR_INVALID_HANDLE;
        all.live.erase(hStream);
    }
    delete hStream;   // runs what is queued, then stops the worker (as the driver finishes the work)
    return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamSynchronize(CUstream hStream) {
    CHECK(requireContext());
    Stream* s = stream(hStream);
    if (s == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    s->synchronize();
    return takeError();
}

// ==================================================================== events

namespace {

std::mutex eventsMutex;
std::set<CUevent_st*> liveEvents;

bool isEvent(CUevent e) {
    std::lock_guard<std::mutex> lock(eventsMutex);
    return liveEvents.count(e) > 0;
}

// The stream a recorded event points into, when that stream is still live (a destroyed stream ran
// all its work before it went).
Stream* liveStreamOf(CUstream_st* handle) {
    Streams& all = streams();
    std::lock_guard<std::mutex> lock(all.mutex);
    return all.live.count(handle) ? &handle->stream : nullptr;
}

}  // namespace

EXPORT CUresult cuEventCreate(CUevent* phEvent, unsigned int Flags) {
    CHECK(requireContext());
    if (phEvent == nullptr || (Flags & ~0x7u) != 0) return CUDA_ERROR_INVALID_VALUE;
    auto* e = new CUevent_st();
    std::lock_guard<std::mutex> lock(eventsMutex);
    liveEvents.insert(e);
    *phEvent = e;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuEventRecord(CUevent hEvent, CUstream hStream) {
    CHECK(requireContext());
    if (!isEvent(hEvent)) {
        report("cuEventRecord: %p is not a live event", (void*)hEvent);
        return CUDA_ERROR_INVALID_HANDLE;
    }
    Stream* s = stream(hStream);
    if (s == nullptr) {
        report("cuEventRecord: %p is not a live stream", (void*)hStream);
        return CUDA_ERROR_INVALID_HANDLE;
    }
    hEvent->stream = (hStream == nullptr || hStream == CU_STREAM_LEGACY || hStream == CU_STREAM_PER_THREAD)
                             ? defaultStream() : hStream;
    hEvent->ticket = s->ticket();
    return CUDA_SUCCESS;
}

// Work enqueued on hStream after this call waits for the work before the event's last record
// (captured now: a later record does not change what this wait waits for).
EXPORT CUresult cuStreamWaitEvent(CUstream hStream, CUevent hEvent, unsigned int Flags) {
    CHECK(requireContext());
    if (!isEvent(hEvent) || Flags != 0) return isEvent(hEvent) ? CUDA_ERROR_INVALID_VALUE : CUDA_ERROR_INVALID_HANDLE;
    CUstream_st* source = hEvent->stream;
    uint64_t ticket = hEvent->ticket;
    if (source == nullptr) return CUDA_SUCCESS;   // never recorded: nothing to wait for
    return enqueueOn(hStream, "cuStreamWaitEvent", [=] {
        if (Stream* s = liveStreamOf(source)) s->synchronizeTo(ticket);
        return CUDA_SUCCESS;
    });
}

EXPORT CUresult cuEventDestroy_v2(CUevent hEvent) {
    CHECK(requireContext());
    std::lock_guard<std::mutex> lock(eventsMutex);
    if (liveEvents.erase(hEvent) == 0) return CUDA_ERROR_INVALID_HANDLE;
    delete hEvent;   // a wait enqueued on it captured its stream and ticket already
    return CUDA_SUCCESS;
}

// ==================================================================== modules and launches

EXPORT CUresult cuModuleLoadData(CUmodule* module, const void* image) {
    CHECK(requireContext());
    if (module == nullptr || image == nullptr) return CUDA_ERROR_INVALID_VALUE;
    const char* text = static_cast<const char*>(image);
    if (std::memcmp(text, "\x7f" "ELF", 4) == 0) {
        report("cuModuleLoadData: cubin/fatbin images are not emulated, only PTX text");
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    std::vector<PtxEntry> entries = parsePtx(text);
    if (entries.empty()) {
        report("cuModuleLoadData: the image has no .entry (not PTX?)");
        return CUDA_ERROR_INVALID_PTX;
    }
    auto* m = new CUmod_st();
    for (const PtxEntry& e : entries) {
        const KernelEntry* k = findKernel(e.name);
        if (k == nullptr) {
            report("cuModuleLoadData: kernel %s is not compiled into the emulator (rebuild it from the current .cu files)",
                   e.name.c_str());
            delete m;
            return CUDA_ERROR_INVALID_PTX;
        }
        if (k->signature.sizes != e.sizes) {
            std::string ptx, cpp;
            for (std::size_t s : e.sizes) ptx += std::to_string(s) + " ";
            for (std::size_t s : k->signature.sizes) cpp += std::to_string(s) + " ";
            report("cuModuleLoadData: %s takes parameters of [ %s] bytes in the PTX but [ %s] in the emulator's build",
                   e.name.c_str(), ptx.c_str(), cpp.c_str());
            delete m;
            return CUDA_ERROR_INVALID_PTX;
        }
        m->entries.push_back(e.name);
    }
    *module = m;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleUnload(CUmodule hmod) {
    CHECK(requireContext());
    if (hmod == nullptr) return CUDA_ERROR_INVALID_HANDLE;
    delete hmod;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuModuleGetFunction(CUfunction* hfunc, CUmodule hmod, const char* name) {
    CHECK(requireContext());
    if (hfunc == nullptr || hmod == nullptr || name == nullptr) return CUDA_ERROR_INVALID_VALUE;
    if (std::find(hmod->entries.begin(), hmod->entries.end(), name) == hmod->entries.end()) return CUDA_ERROR_NOT_FOUND;
    *hfunc = functionOf(findKernel(name));
    return CUDA_SUCCESS;
}

EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int gridDimX, unsigned int gridDimY, unsigned int gridDimZ,
                               unsigned int blockDimX, unsigned int blockDimY, unsigned int blockDimZ,
                               unsigned int sharedMemBytes, CUstream hStream, void** kernelParams, void** extra) {
    CHECK(requireContext());
    if (f == nullptr || !isFunction(f)) return CUDA_ERROR_INVALID_HANDLE;
    const KernelEntry* k = f->kernel;
    unsigned long long threads = (unsigned long long)blockDimX * blockDimY * blockDimZ;
    if (gridDimX == 0 || gridDimY == 0 || gridDimZ == 0 || threads == 0 || threads > MAX_THREADS_PER_BLOCK ||
        blockDimZ > 64 || gridDimX > 0x7fffffffu || gridDimY > 65535 || gridDimZ > 65535) {
        report("cuLaunchKernel(%s): grid (%u, %u, %u) of blocks (%u, %u, %u) is outside the device's limits", k->name,
               gridDimX, gridDimY, gridDimZ, blockDimX, blockDimY, blockDimZ);
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (extra != nullptr) {
        report("cuLaunchKernel(%s): 'extra' parameters are not emulated", k->name);
        return CUDA_ERROR_NOT_SUPPORTED;
    }
    if (sharedMemBytes > 48 * 1024) {   // more needs cuFuncSetAttribute, which is not emulated
        report("cuLaunchKernel(%s): %u bytes of dynamic shared memory exceed the 48 KiB default", k->name, sharedMemBytes);
        return CUDA_ERROR_INVALID_VALUE;
    }
    const KernelSignature& sig = k->signature;
    if (!sig.sizes.empty() && kernelParams == nullptr) {
        report("cuLaunchKernel(%s): kernelParams is NULL for a kernel of %zu parameters", k->name, sig.sizes.size());
        return CUDA_ERROR_INVALID_VALUE;
    }
    // A pointer parameter must be NULL or point into live device memory (a GPU would fault on anything else).
    for (std::size_t i = 0; i < sig.sizes.size(); i++) {
        if (!sig.pointers[i]) continue;
        CUdeviceptr p;
        std::memcpy(&p, kernelParams[i], sizeof p);
        if (p != 0 && !isDevicePointer(p)) {
            report("cuLaunchKernel(%s): parameter %zu is %s, not a device address", k->name, i, describe(p).c_str());
            return CUDA_ERROR_INVALID_VALUE;
        }
    }
    std::shared_ptr<void> packed(sig.pack(kernelParams), sig.release);
    Dim3 grid{gridDimX, gridDimY, gridDimZ}, block{blockDimX, blockDimY, blockDimZ};
    return enqueueOn(hStream, "cuLaunchKernel", [k, packed, grid, block, threads, sharedMemBytes] {
        std::vector<uint64_t> dynamicShared((sharedMemBytes + 7) / 8 + 1);
        Block b;
        b.dynamicShared = dynamicShared.data();
        b.gridDim = grid;
        b.blockDim = block;
        b.threads = (int)threads;
        b.launch = LaunchBody{k->signature.invoke, k->function, packed.get()};
        for (unsigned z = 0; z < grid.z; z++) {
            for (unsigned y = 0; y < grid.y; y++) {
                for (unsigned x = 0; x < grid.x; x++) {
                    b.blockIdx = Dim3{x, y, z};
                    const char* failure = runBlock(b);
                    if (failure != nullptr) {
                        report("kernel %s, block (%u, %u, %u) of (%u, %u, %u): %s", k->name, x, y, z, grid.x, grid.y,
                               grid.z, failure);
                        return b.illegalAddress ? CUDA_ERROR_ILLEGAL_ADDRESS : CUDA_ERROR_LAUNCH_FAILED;
                    }
                }
            }
        }
        return CUDA_SUCCESS;
    });
}
