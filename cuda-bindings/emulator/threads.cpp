// Emulated CUDA threads: each thread of a block is a fiber with its own stack on the host
// thread that runs the block. A fiber runs until it meets a barrier (__syncthreads, or a warp
// shuffle/vote/__syncwarp) or exits; when every live thread of the block (or of the warp) waits
// at the barrier, they are released together. Threads that can never be released (a barrier
// inside divergent code) fail the launch instead of hanging.
#include "threads.h"

#include <pthread.h>
#include <sys/mman.h>

#include <atomic>
#include <csetjmp>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "device.h"

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace tsemu {

thread_local Fiber* currentFiber = nullptr;
thread_local Block* currentBlock = nullptr;

namespace {

constexpr std::size_t STACK_BYTES = 64 * 1024;   // per emulated thread; kernels are shallow
constexpr std::size_t PAGE = 4096;

#if defined(__x86_64__)
// Saves the callee-saved registers and the FP control words on the current stack, stores the
// stack pointer in *save, and resumes the context whose stack pointer is load.
extern "C" void tsemu_switch(void** save, void* load);
asm(R"(
    .text
    .globl tsemu_switch
    .hidden tsemu_switch
    .type tsemu_switch, @function
tsemu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size tsemu_switch, .-tsemu_switch
)");

void switchTo(void** save, void* load) { tsemu_switch(save, load); }
#else
void switchTo(void** save, void* load) { swapcontext(static_cast<ucontext_t*>(*save), static_cast<ucontext_t*>(load)); }
#endif

[[noreturn]] void fiberMain() {
    Fiber* f = currentFiber;
    Block* b = currentBlock;
    b->launch.invoke(b->launch.function, b->launch.packed);
    f->state = FiberState::Done;
    switchTo(&f->sp, b->schedulerSp);
    __builtin_unreachable();
}

// Stacks of one host thread's fibers, mapped once (untouched pages cost nothing).
struct StackPool {
    char* base = nullptr;
    std::vector<Fiber> fibers;
#if !defined(__x86_64__)
    std::vector<ucontext_t> contexts;
    ucontext_t scheduler;
#endif

    StackPool() : fibers(MAX_THREADS_PER_BLOCK) {
        std::size_t slot = STACK_BYTES + PAGE;   // a guard page below each stack
        void* p = mmap(nullptr, slot * MAX_THREADS_PER_BLOCK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            std::fprintf(stderr, "[tessera cuda emulator] cannot map fiber stacks\n");
            std::abort();
        }
        base = static_cast<char*>(p);
        for (int i = 0; i < MAX_THREADS_PER_BLOCK; i++) {
            mprotect(base + i * slot, PAGE, PROT_NONE);
        }
#if !defined(__x86_64__)
        contexts.resize(MAX_THREADS_PER_BLOCK);
#endif
    }

    void start(int i) {
        char* low = base + i * (STACK_BYTES + PAGE) + PAGE;
        Fiber& f = fibers[i];
#if defined(__x86_64__)
        uint64_t* sp = reinterpret_cast<uint64_t*>(low + STACK_BYTES);
        uint32_t mxcsr;
        uint16_t fpucw;
        asm volatile("stmxcsr %0" : "=m"(mxcsr));
        asm volatile("fnstcw %0" : "=m"(fpucw));
        *--sp = 0;                                          // fiberMain's (never used) return address
        *--sp = reinterpret_cast<uint64_t>(&fiberMain);     // where tsemu_switch's ret goes
        for (int r = 0; r < 6; r++) *--sp = 0;              // rbp rbx r12 r13 r14 r15
        *--sp = mxcsr | (uint64_t)fpucw << 32;
        f.sp = sp;
#else
        ucontext_t& uc = contexts[i];
        getcontext(&uc);
        uc.uc_stack.ss_sp = low;
        uc.uc_stack.ss_size = STACK_BYTES;
        uc.uc_link = nullptr;
        makecontext(&uc, fiberMain, 0);
        f.sp = &uc;
#endif
    }
};

thread_local StackPool* pool = nullptr;

// ---------------------------------------------------------------- faults inside kernels
//
// A kernel that touches memory it does not own (a guard page after a block, a freed block, a
// wild pointer) raises SIGSEGV on the host thread running it. The handler sends that thread back
// to runBlock, which fails the launch with the address, as a GPU reports an illegal address.
// Every other SIGSEGV (the JVM uses them for null checks and safepoints) goes to the handler
// that was installed before, unchanged. The handler identifies kernel threads by pthread_self
// only: it touches no thread-local storage, which is not async-signal-safe in a shared library.

struct FaultSlot {
    std::atomic<bool> used{false};
    pthread_t thread;
    std::atomic<sigjmp_buf*> jump{nullptr};
    std::atomic<uintptr_t> address{0};
};

FaultSlot faultSlots[64];
struct sigaction previousSegv, previousBus;

void forward(const struct sigaction& previous, int sig, siginfo_t* info, void* context) {
    if (previous.sa_flags & SA_SIGINFO) {
        previous.sa_sigaction(sig, info, context);
    } else if (previous.sa_handler == SIG_DFL) {
        signal(sig, SIG_DFL);
        raise(sig);
    } else if (previous.sa_handler != SIG_IGN) {
        previous.sa_handler(sig);
    }
}

void onFault(int sig, siginfo_t* info, void* context) {
    pthread_t self = pthread_self();
    for (FaultSlot& slot : faultSlots) {
        if (slot.used.load() && pthread_equal(slot.thread, self)) {
            sigjmp_buf* jump = slot.jump.load();
            if (jump != nullptr) {
                slot.jump.store(nullptr);
                slot.address.store(reinterpret_cast<uintptr_t>(info->si_addr));
                siglongjmp(*jump, 1);
            }
            break;
        }
    }
    forward(sig == SIGBUS ? previousBus : previousSegv, sig, info, context);
}

// This host thread's slot, the handler installed on first use.
FaultSlot* faultSlot() {
    static std::once_flag installed;
    std::call_once(installed, [] {
        struct sigaction ours {};
        ours.sa_sigaction = onFault;
        ours.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
        sigemptyset(&ours.sa_mask);
        sigaction(SIGSEGV, &ours, &previousSegv);
        sigaction(SIGBUS, &ours, &previousBus);
    });
    static thread_local FaultSlot* mine = nullptr;
    if (mine == nullptr) {
        static std::mutex claim;
        std::lock_guard<std::mutex> lock(claim);
        for (FaultSlot& slot : faultSlots) {
            if (!slot.used.load()) {
                // the handler runs on a stack of its own: a fiber that overflowed its stack has none left
                stack_t alternate{};
                alternate.ss_size = 64 * 1024;
                alternate.ss_sp = std::malloc(alternate.ss_size);
                sigaltstack(&alternate, nullptr);
                slot.thread = pthread_self();
                slot.used.store(true);
                mine = &slot;
                break;
            }
        }
    }
    return mine;
}

void yield(FiberState waitFor) {
    Fiber* f = currentFiber;
    f->state = waitFor;
    switchTo(&f->sp, currentBlock->schedulerSp);
}

// Releases every barrier whose threads have all arrived; false when none could be.
bool release(Block& b) {
    bool released = false;
    int warps = (b.threads + 31) / 32;
    for (int w = 0; w < warps; w++) {
        int end = std::min(b.threads, (w + 1) * 32);
        bool all = true, any = false;
        for (int i = w * 32; i < end; i++) {
            FiberState s = b.fibers[i].state;
            if (s == FiberState::WaitWarp) any = true;
            else if (s != FiberState::Done) all = false;
        }
        if (any && all) {
            for (int i = w * 32; i < end; i++) {
                if (b.fibers[i].state == FiberState::WaitWarp) b.fibers[i].state = FiberState::Ready;
            }
            released = true;
        }
    }
    if (released) return true;
    bool all = true, any = false;
    for (int i = 0; i < b.threads; i++) {
        FiberState s = b.fibers[i].state;
        if (s == FiberState::WaitBlock) any = true;
        else if (s != FiberState::Done) all = false;
    }
    if (any && all) {
        for (int i = 0; i < b.threads; i++) {
            if (b.fibers[i].state == FiberState::WaitBlock) b.fibers[i].state = FiberState::Ready;
        }
        return true;
    }
    return false;
}

}  // namespace

void syncBlock() { yield(FiberState::WaitBlock); }

void syncWarp() { yield(FiberState::WaitWarp); }

void fail(const char* why) {
    Block* b = currentBlock;
    if (b->failure == nullptr) b->failure = why;
    Fiber* f = currentFiber;
    f->state = FiberState::Done;
    switchTo(&f->sp, b->schedulerSp);
    __builtin_unreachable();
}

const char* runBlock(Block& b) {
    if (pool == nullptr) pool = new StackPool();
    b.fibers = pool->fibers.data();
    b.failure = nullptr;
    b.illegalAddress = false;
    unsigned dx = b.blockDim.x, dy = b.blockDim.y;
    for (int i = 0; i < b.threads; i++) {
        Fiber& f = b.fibers[i];
        f.linear = i;
        f.threadIdx = Dim3{i % dx, (i / dx) % dy, i / (dx * dy)};
        f.state = FiberState::Ready;
        pool->start(i);
    }
#if !defined(__x86_64__)
    b.schedulerSp = &pool->scheduler;
#endif
    currentBlock = &b;
    FaultSlot* slot = faultSlot();
    sigjmp_buf jump;
    if (sigsetjmp(jump, 1) != 0) {   // a thread of this block faulted (see onFault)
        static thread_local std::string why;
        Fiber* f = currentFiber;
        b.illegalAddress = true;
        why = "thread (" + std::to_string(f->threadIdx.x) + ", " + std::to_string(f->threadIdx.y) + ", " +
              std::to_string(f->threadIdx.z) + ") made an illegal memory access at " + describe(slot->address.load());
        currentBlock = nullptr;
        currentFiber = nullptr;
        return why.c_str();
    }
    if (slot != nullptr) slot->jump.store(&jump);
    for (;;) {
        for (int i = 0; i < b.threads; i++) {
            if (b.fibers[i].state == FiberState::Ready) {
                currentFiber = &b.fibers[i];
                switchTo(&b.schedulerSp, b.fibers[i].sp);
                if (b.failure != nullptr) {
                    if (slot != nullptr) slot->jump.store(nullptr);
                    currentBlock = nullptr;
                    return b.failure;
                }
            }
        }
        bool live = false;
        for (int i = 0; i < b.threads && !live; i++) live = b.fibers[i].state != FiberState::Done;
        if (!live) break;
        if (!release(b)) {
            if (slot != nullptr) slot->jump.store(nullptr);
            currentBlock = nullptr;
            return "threads wait at barriers that can never all be reached (__syncthreads or a warp "
                   "operation in divergent code)";
        }
    }
    if (slot != nullptr) slot->jump.store(nullptr);
    currentBlock = nullptr;
    currentFiber = nullptr;
    return nullptr;
}

}  // namespace tsemu
