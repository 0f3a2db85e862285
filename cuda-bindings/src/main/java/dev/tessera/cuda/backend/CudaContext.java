package dev.tessera.cuda.backend;

import static dev.tessera.cuda.ffi.CudaStatus.check;
import static dev.tessera.cuda.ffi.CudaStatus.checkCublas;

import dev.tessera.core.Device;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.cuda.ffi.CudaLibraries;
import dev.tessera.cuda.ffi.cublas_api_h;
import dev.tessera.cuda.ffi.cuda_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * One device's share of the process: its primary context (retained once, the one the CUDA
 * runtime and cuBLAS also use), the one stream every kernel, copy and GEMM is enqueued on, the
 * cuBLAS handle, and the error word kernels write when an index is out of range.
 *
 * <p><b>Threads.</b> A CUDA context is current per OS thread. {@link #enter()} makes it current
 * before any driver call: once per platform thread (remembered in a thread-local), and on every
 * call for a virtual thread, whose carrier may change between calls (a downcall pins the virtual
 * thread to its carrier for its duration, and nothing between {@code enter()} and the following
 * downcalls blocks). So the backend may be used from any thread; the single stream keeps all work
 * in one order.
 */
final class CudaContext {
    private static final ThreadLocal<CudaContext> CURRENT = new ThreadLocal<>();

    /** Codes of the error word, as {@code ERR_*} in common.cuh. */
    static final int ERR_EMBEDDING_INDEX = 1;
    static final int ERR_TARGET_INDEX = 2;
    static final int ERR_SELECT_INDEX = 3;
    static final int ERR_NONFINITE_QUANT = 4;
    static final int ERR_NONFINITE_QUANT4 = 5;
    /** Bytes of the error word: int code, int unused, two 64-bit details (common.cuh's report_error). */
    static final int ERROR_WORD_BYTES = 24;

    private final Device device;
    private final int driverVersion;
    private final String name;
    private final int computeMajor;
    private final int computeMinor;
    private final MemorySegment context;
    private final MemorySegment stream;
    private final long errorWord;
    private final int cuDevice;
    private MemorySegment cublas;
    private String cublasFailure;
    /** host buffers that enqueued copies read: released at the next synchronisation */
    private final List<Tensor> pendingHostBuffers = new ArrayList<>();
    private volatile boolean closed;

    private CudaContext(Device device, int cuDevice, int driverVersion, String name, int computeMajor, int computeMinor,
                        MemorySegment context, MemorySegment stream, long errorWord) {
        this.device = device;
        this.driverVersion = driverVersion;
        this.name = name;
        this.computeMajor = computeMajor;
        this.computeMinor = computeMinor;
        this.context = context;
        this.stream = stream;
        this.errorWord = errorWord;
        this.cuDevice = cuDevice;
    }

    /** Retains device {@code ordinal}'s primary context and creates its stream. */
    static CudaContext open(int ordinal, int driverVersion) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment intOut = arena.allocate(ValueLayout.JAVA_INT);
            check(cuda_h.cuDeviceGet(intOut, ordinal), "cuDeviceGet(" + ordinal + ")");
            int dev = intOut.get(ValueLayout.JAVA_INT, 0);
            MemorySegment nameBuf = arena.allocate(256);
            check(cuda_h.cuDeviceGetName(nameBuf, 256, dev), "cuDeviceGetName");
            check(cuda_h.cuDeviceGetAttribute(intOut, cuda_h.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR(), dev),
                    "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MAJOR)");
            int major = intOut.get(ValueLayout.JAVA_INT, 0);
            check(cuda_h.cuDeviceGetAttribute(intOut, cuda_h.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR(), dev),
                    "cuDeviceGetAttribute(COMPUTE_CAPABILITY_MINOR)");
            int minor = intOut.get(ValueLayout.JAVA_INT, 0);
            MemorySegment ptrOut = arena.allocate(ValueLayout.ADDRESS);
            check(cuda_h.cuDevicePrimaryCtxRetain(ptrOut, dev), "cuDevicePrimaryCtxRetain(" + ordinal + ")");
            MemorySegment ctx = ptrOut.get(ValueLayout.ADDRESS, 0);
            check(cuda_h.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
            check(cuda_h.cuStreamCreate(ptrOut, 0), "cuStreamCreate");
            MemorySegment stream = ptrOut.get(ValueLayout.ADDRESS, 0);
            MemorySegment longOut = arena.allocate(ValueLayout.JAVA_LONG);
            check(cuda_h.cuMemAlloc_v2(longOut, ERROR_WORD_BYTES), "cuMemAlloc_v2(error word)");
            long errorWord = longOut.get(ValueLayout.JAVA_LONG, 0);
            check(cuda_h.cuMemsetD8_v2(errorWord, (byte) 0, ERROR_WORD_BYTES), "cuMemsetD8_v2(error word)");
            CudaContext c = new CudaContext(Device.cuda(ordinal), dev, driverVersion, nameBuf.getString(0), major, minor,
                    ctx, stream, errorWord);
            if (!Thread.currentThread().isVirtual()) {
                CURRENT.set(c);
            }
            return c;
        }
    }

    Device device() {
        return device;
    }

    int driverVersion() {
        return driverVersion;
    }

    String name() {
        return name;
    }

    /** Compute capability as 10*major + minor (90 for an H100). */
    int computeCapability() {
        return computeMajor * 10 + computeMinor;
    }

    MemorySegment stream() {
        return stream;
    }

    long errorWord() {
        return errorWord;
    }

    /** Makes this context current on the calling thread (see the class comment). */
    void enter() {
        if (closed) {
            throw new TesseraException("the CUDA backend of " + device + " is closed");
        }
        Thread t = Thread.currentThread();
        if (t.isVirtual()) {
            check(cuda_h.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        } else if (CURRENT.get() != this) {
            check(cuda_h.cuCtxSetCurrent(context), "cuCtxSetCurrent");
            CURRENT.set(this);
        }
    }

    /** Waits for the stream, then fails if a kernel reported a bad index since the last check. */
    void synchronize() {
        enter();
        check(cuda_h.cuStreamSynchronize(stream), "cuStreamSynchronize");
        releasePendingHostBuffers();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment word = arena.allocate(ERROR_WORD_BYTES, 8);
            check(cuda_h.cuMemcpyDtoH_v2(word, errorWord, ERROR_WORD_BYTES), "cuMemcpyDtoH_v2(error word)");
            int code = word.get(ValueLayout.JAVA_INT, 0);
            if (code != 0) {
                check(cuda_h.cuMemsetD8_v2(errorWord, (byte) 0, ERROR_WORD_BYTES), "cuMemsetD8_v2(error word)");
                throw new TesseraException(errorMessage(code, word.get(ValueLayout.JAVA_LONG, 8),
                        word.get(ValueLayout.JAVA_LONG, 16)));
            }
        }
    }

    /**
     * The error a kernel reported, in the CPU backend's words where it has them (an index and its
     * bound are carried in the error word's details), so a bad id reads the same on every device.
     */
    String errorMessage(int code, long detail, long bound) {
        return switch (code) {
            case ERR_EMBEDDING_INDEX -> "embedding: token id " + detail + " out of range for a vocabulary of " + bound;
            case ERR_TARGET_INDEX -> "crossEntropy: target " + detail + " out of range for " + bound + " classes";
            case ERR_SELECT_INDEX -> "indexSelect: index " + detail + " out of range for a dimension of size " + bound;
            case ERR_NONFINITE_QUANT -> "8-bit quantize: a non-finite value (an optimizer state overflowed?) (on " + device + ")";
            case ERR_NONFINITE_QUANT4 -> "4-bit quantize: non-finite value " + Float.intBitsToFloat((int) bound)
                    + " at index " + detail;
            default -> "a CUDA kernel reported error code " + code + " (on " + device + ")";
        };
    }

    /** Releases {@code host} once the stream has run every copy enqueued so far (at the next synchronisation). */
    synchronized void releaseWhenComplete(Tensor host) {
        pendingHostBuffers.add(host);
    }

    private synchronized void releasePendingHostBuffers() {
        pendingHostBuffers.forEach(Tensor::release);
        pendingHostBuffers.clear();
    }

    /**
     * Waits for the stream, then destroys the cuBLAS handle, the error word, the stream, and this
     * process's hold on the primary context. Idempotent; the context is unusable afterwards.
     */
    synchronized void close() {
        if (closed) {
            return;
        }
        enter();
        try {
            check(cuda_h.cuStreamSynchronize(stream), "cuStreamSynchronize");
        } finally {
            closed = true;
            releasePendingHostBuffers();
            if (cublas != null) {
                checkCublas(cublas_api_h.cublasDestroy_v2(cublas), "cublasDestroy_v2");
                cublas = null;
            }
            check(cuda_h.cuMemFree_v2(errorWord), "cuMemFree_v2(error word)");
            check(cuda_h.cuStreamDestroy_v2(stream), "cuStreamDestroy_v2");
            check(cuda_h.cuDevicePrimaryCtxRelease_v2(cuDevice), "cuDevicePrimaryCtxRelease_v2");
            if (CURRENT.get() == this) {
                CURRENT.remove();
            }
        }
    }

    boolean isClosed() {
        return closed;
    }

    MemoryInfo memoryInfo() {
        enter();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment free = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment total = arena.allocate(ValueLayout.JAVA_LONG);
            check(cuda_h.cuMemGetInfo_v2(free, total), "cuMemGetInfo_v2");
            return new MemoryInfo(free.get(ValueLayout.JAVA_LONG, 0), total.get(ValueLayout.JAVA_LONG, 0));
        }
    }

    /** The cuBLAS handle bound to this context's stream, created on first use. */
    synchronized MemorySegment cublas() {
        if (cublas != null) {
            return cublas;
        }
        if (cublasFailure != null) {
            throw new TesseraException(cublasFailure);
        }
        var missing = CudaLibraries.CUBLAS.unavailableReason();
        if (missing.isPresent()) {
            cublasFailure = "gemm on " + device + " needs cuBLAS: " + missing.get();
            throw new TesseraException(cublasFailure);
        }
        enter();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            checkCublas(cublas_api_h.cublasCreate_v2(out), "cublasCreate_v2");
            MemorySegment handle = out.get(ValueLayout.ADDRESS, 0);
            checkCublas(cublas_api_h.cublasSetStream_v2(handle, stream), "cublasSetStream_v2");
            cublas = handle;
            return handle;
        } catch (TesseraException e) {
            cublasFailure = "gemm on " + device + ": " + e.getMessage();
            throw e;
        }
    }
}
