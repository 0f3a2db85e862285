package dev.tessera.cuda.backend;

import static dev.tessera.cuda.ffi.CudaStatus.check;
import static dev.tessera.cuda.ffi.CudaStatus.checkCublas;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.PageTiers;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Scope;
import dev.tessera.core.Storage;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.cuda.ffi.cublas_api_h;
import dev.tessera.cuda.ffi.cuda_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The CUDA backend of one device: core's {@link Backend} SPI on the driver API, cuBLAS for GEMM
 * and the project's own kernels ({@code src/main/resources/dev/tessera/cuda/kernels/*.cu}).
 * Tensors on it hold device addresses from a caching {@link DeviceAllocator}; all work is
 * enqueued on one stream, and copies to the host wait for it. Found through
 * {@link CudaBackendProvider}; user code reaches it by device:
 *
 * <pre>{@code
 * if (Backends.isAvailable(Device.cuda(0))) {
 *     Tensor a = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2).to(Device.cuda(0));
 *     float[] c = a.matmul(a).toFloatArray();   // cuBLAS, then copied back
 * }
 * }</pre>
 *
 * <p>Where the CPU backend throws on an out-of-range index (embedding ids, cross-entropy
 * targets), kernels touch no memory and leave a code that the next synchronisation (a copy to
 * the host, {@link #synchronize()}) turns into a {@link TesseraException}.
 */
public final class CudaBackend implements Backend {
    private static final Map<Integer, CudaBackend> BACKENDS = new ConcurrentHashMap<>();
    private static final AtomicBoolean CLOSE_AT_EXIT = new AtomicBoolean();

    private final CudaContext context;
    private final DeviceAllocator allocator;
    private final KernelLauncher launcher;
    private final CudaQuantOps quant;

    private CudaBackend(CudaContext context) {
        this.context = context;
        this.allocator = new DeviceAllocator(context);
        this.launcher = new KernelLauncher(context, new KernelLoader(context));
        this.quant = new CudaQuantOps(this, context, launcher);
    }

    /** The backend of device {@code index}; throws with the reason when CUDA or the device is unusable. */
    public static CudaBackend forDevice(int index) {
        CudaDriver driver = CudaDriver.get();
        if (!driver.usable()) {
            throw new TesseraException(driver.failure());
        }
        if (index < 0 || index >= driver.deviceCount()) {
            throw new TesseraException("no CUDA device " + index + " (the driver reports " + driver.deviceCount() + ")");
        }
        return BACKENDS.computeIfAbsent(index, i -> {
            if (CLOSE_AT_EXIT.compareAndSet(false, true)) {
                Runtime.getRuntime().addShutdownHook(new Thread(CudaBackend::closeAll, "tessera-cuda-close"));
            }
            return new CudaBackend(CudaContext.open(i, driver.driverVersion()));
        });
    }

    private static void closeAll() {
        for (CudaBackend b : BACKENDS.values()) {
            try {
                b.close();
            } catch (RuntimeException e) {
                // at exit the driver returns everything anyway; a failing device must not block the JVM
            }
        }
    }

    @Override
    public Device device() {
        return context.device();
    }

    /** The device's name, e.g. "NVIDIA H100 80GB HBM3". */
    public String deviceName() {
        return context.name();
    }

    /** Compute capability as 10*major + minor. */
    public int computeCapability() {
        return context.computeCapability();
    }

    /** cuDriverGetVersion of the installed driver, e.g. 12040 for CUDA 12.4. */
    public int driverVersion() {
        return context.driverVersion();
    }

    /** Free and total device memory now. */
    public MemoryInfo memoryInfo() {
        return context.memoryInfo();
    }

    /** Waits for all enqueued work; reports a bad index a kernel met since the last check. */
    public void synchronize() {
        context.synchronize();
    }

    @Override
    public Storage allocate(long bytes) {
        long address = allocator.allocate(bytes);
        return Storage.deviceMemory(device(), address, bytes, allocator::free);
    }

    @Override
    public long liveBytes() {
        return allocator.liveBytes();
    }

    /** Bytes the allocator keeps for reuse. */
    public long cachedBytes() {
        return allocator.cachedBytes();
    }

    /** Returns the allocator's cached blocks to the driver. */
    public void releaseCached() {
        allocator.releaseCached();
    }

    /**
     * Waits for the device, returns cached device memory, and releases the stream, the cuBLAS handle
     * and the context (run for every backend at JVM exit). Tensors still on the device become unusable;
     * {@link #forDevice} opens the device afresh.
     */
    public void close() {
        BACKENDS.remove(context.device().index(), this);
        try {
            allocator.releaseCached();
        } finally {
            context.close();
        }
    }

    /** Paged memory's fast tier in device memory, its slow tier in pinned host memory (slowDir unused). */
    @Override
    public PageTiers pageTiers(long pageBytes, int slots, Path slowDir) {
        Storage fast = Scope.unowned(() -> allocate(slots * pageBytes));
        return new CudaPageTiers(context, fast, pageBytes, slots);
    }

    // ------------------------------------------------------------------ addresses

    private boolean isHere(Tensor t) {
        return t.device().equals(device());
    }

    /** Device address of the tensor's first element. */
    long address(Tensor t) {
        if (!isHere(t)) {
            throw new TesseraException("tensor on " + t.device() + " passed to the " + device() + " backend");
        }
        return t.storage().deviceAddress() + t.offset() * t.dtype().byteSize();
    }

    long addressOrNull(Tensor t) {
        return t == null ? 0L : address(t);
    }

    private static long bytes(Tensor t) {
        return t.numel() * t.dtype().byteSize();
    }

    /** The host memory of a contiguous CPU tensor's elements. */
    private static MemorySegment host(Tensor t) {
        return t.storage().segment().asSlice(t.offset() * t.dtype().byteSize(), bytes(t));
    }

    // ------------------------------------------------------------------ copy / fill

    @Override
    public void copy(Tensor src, Tensor dst) {
        if (src.numel() == 0) {
            return;
        }
        boolean srcHere = isHere(src), dstHere = isHere(dst);
        if (srcHere && dstHere) {
            deviceCopy(src, dst);
        } else if (dstHere && src.device().isCpu()) {
            upload(src, dst);
        } else if (dstHere) {
            Tensor staged = toHost(src);
            try {
                upload(staged, dst);
            } finally {
                context.releaseWhenComplete(staged);
            }
        } else if (srcHere) {
            if (!dst.device().isCpu()) {
                throw new TesseraException("copy from " + device() + " to " + dst.device() + " goes through the CPU: use to(Device.CPU) first");
            }
            download(src, dst);
        } else {
            throw new TesseraException("the " + device() + " backend cannot copy " + src.device() + " to " + dst.device());
        }
    }

    /** A contiguous CPU copy of a tensor on another device (staging for device-to-device copies). */
    private static Tensor toHost(Tensor src) {
        Tensor host = Tensor.empty(src.dtype(), Device.CPU, src.shape());
        Backends.of(src.device()).copy(src, host);
        return host;
    }

    private void upload(Tensor src, Tensor dst) {
        if (src.isContiguous() && dst.isContiguous() && src.dtype() == dst.dtype()) {
            hostToDevice(src, dst);
            return;
        }
        Tensor staged = Tensor.empty(dst.dtype(), Device.CPU, dst.shape());
        try {
            Backends.cpu().copy(src, staged);
            if (dst.isContiguous()) {
                hostToDevice(staged, dst);
            } else {
                Tensor packed = Tensor.empty(dst.dtype(), device(), dst.shape());
                try {
                    hostToDevice(staged, packed);
                    deviceCopy(packed, dst);
                } finally {
                    packed.release();   // device memory: reused only by work enqueued after this copy
                }
            }
        } finally {
            // the copy may still read the host buffer (always from pinned memory; from pageable memory the
            // driver stages it first, but the buffer's memory is not ours to assume): free it once complete
            context.releaseWhenComplete(staged);
        }
    }

    private void download(Tensor src, Tensor dst) {
        Tensor packed = src;
        if (!src.isContiguous() || src.dtype() != dst.dtype()) {
            packed = Tensor.empty(dst.dtype(), device(), src.shape());
            deviceCopy(src, packed);
        }
        try {
            if (dst.isContiguous()) {
                deviceToHost(packed, dst);
            } else {
                Tensor staged = Tensor.empty(dst.dtype(), Device.CPU, dst.shape());
                try {
                    deviceToHost(packed, staged);
                    Backends.cpu().copy(staged, dst);
                } finally {
                    staged.release();
                }
            }
        } finally {
            if (packed != src) {
                packed.release();
            }
        }
    }

    /**
     * Enqueues the copy of a contiguous host tensor; the host memory must stay as it is until the
     * stream has run the copy (see {@link CudaContext#releaseWhenComplete}).
     */
    private void hostToDevice(Tensor src, Tensor dst) {
        context.enter();
        check(cuda_h.cuMemcpyHtoDAsync_v2(address(dst), host(src), bytes(dst), context.stream()), "cuMemcpyHtoDAsync_v2");
    }

    /** Copies a contiguous device tensor into host memory and waits for it. */
    private void deviceToHost(Tensor src, Tensor dst) {
        context.enter();
        check(cuda_h.cuMemcpyDtoHAsync_v2(host(dst), address(src), bytes(src), context.stream()), "cuMemcpyDtoHAsync_v2");
        context.synchronize();
    }

    private void deviceCopy(Tensor src, Tensor dst) {
        if (src.isContiguous() && dst.isContiguous() && src.dtype() == dst.dtype()) {
            context.enter();
            check(cuda_h.cuMemcpyDtoDAsync_v2(address(dst), address(src), bytes(dst), context.stream()), "cuMemcpyDtoDAsync_v2");
            return;
        }
        StridedLayout l = StridedLayout.of(dst.shape(), dst.strides(), src.strides());
        launcher.elementwise(Kernel.COPY_CAST, l.count(), address(src), src.dtype().ordinal(), address(dst),
                dst.dtype().ordinal(), l.count(), l.dims(), l.strides(1), l.strides(0), dst.dtype().byteSize());
    }

    @Override
    public void fill(Tensor dst, double value) {
        long n = dst.numel();
        if (n == 0) {
            return;
        }
        if (value == 0 && 1 / value > 0) {
            context.enter();
            check(cuda_h.cuMemsetD8Async(address(dst), (byte) 0, bytes(dst), context.stream()), "cuMemsetD8Async");
            return;
        }
        launcher.elementwise(Kernel.FILL_BITS, n, address(dst), dst.dtype().byteSize(), fillBits(dst.dtype(), value), n);
    }

    /** The element bits {@code value} has in {@code type}, converted as the CPU backend's fill does. */
    static long fillBits(DType type, double value) {
        return switch (type) {
            case F32 -> Float.floatToRawIntBits((float) value) & 0xFFFFFFFFL;
            case BF16 -> DType.floatToBf16((float) value) & 0xFFFFL;
            case F16 -> DType.floatToF16((float) value) & 0xFFFFL;
            case I64 -> (long) value;
            case I32 -> (int) (long) value & 0xFFFFFFFFL;
            case U8 -> (byte) (long) value & 0xFFL;
            case BOOL -> (long) value != 0 ? 1L : 0L;
        };
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor out, float p1, float p2) {
        launcher.elementwise(Kernel.UNARY_F32, x.numel(), op.ordinal(), address(x), address(out), x.numel(), p1, p2);
    }

    @Override
    public void unaryBackward(UnaryOp op, Tensor x, Tensor dy, Tensor dx, float p1, float p2) {
        launcher.elementwise(Kernel.UNARY_BACKWARD_F32, x.numel(), op.ordinal(), address(x), address(dy), address(dx),
                x.numel(), p1, p2);
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        StridedLayout l = StridedLayout.of(out.shape(), out.strides(), a.strides(), b.strides());
        if (out.dtype() == DType.BOOL) {
            if (a.dtype() != b.dtype()) {
                throw new TesseraException(op + ": operands of different dtypes " + a.dtype() + " and " + b.dtype());
            }
            launcher.elementwise(Kernel.COMPARE, l.count(), op.ordinal(), a.dtype().ordinal(), address(a), address(b),
                    address(out), l.count(), l.dims(), l.strides(1), l.strides(2), l.strides(0));
        } else {
            launcher.elementwise(Kernel.BINARY_F32, l.count(), op.ordinal(), address(a), address(b), address(out),
                    l.count(), l.dims(), l.strides(1), l.strides(2), l.strides(0));
        }
    }

    @Override
    public void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        StridedLayout l = StridedLayout.of(out.shape(), out.strides(), cond.strides(), a.strides(), b.strides());
        launcher.elementwise(Kernel.WHERE_F32, l.count(), address(cond), address(a), address(b), address(out),
                l.count(), l.dims(), l.strides(1), l.strides(2), l.strides(3), l.strides(0));
    }

    // ------------------------------------------------------------------ reductions

    @Override
    public void reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor out) {
        if (inner == 1) {
            launcher.launch(Kernel.REDUCE_ROWS, outer, rowThreads(n), 1, op.ordinal(), address(x), address(out), outer, n);
        } else {
            launcher.elementwise(Kernel.REDUCE_COLS, (long) outer * inner, op.ordinal(), address(x), address(out),
                    outer, n, inner);
        }
    }

    /** Threads per block for a one-block-per-row kernel: a multiple of 32, at most the kernels' MAX_ROW_THREADS. */
    static int rowThreads(int n) {
        if (n <= 256) {
            return Math.max(32, (n + 31) / 32 * 32);
        }
        return n <= 8192 ? 256 : KernelConstants.MAX_ROW_THREADS;
    }

    // ------------------------------------------------------------------ GEMM

    @Override
    public void gemm(boolean transA, boolean transB, int batch, int m, int n, int k,
                     Tensor a, long lda, long strideA, Tensor b, long ldb, long strideB,
                     float beta, Tensor c, long ldc, long strideC) {
        if (batch == 0 || m == 0 || n == 0) {
            return;
        }
        ColumnMajorGemm g = ColumnMajorGemm.of(transA, transB, m, n, k, lda, strideA, ldb, strideB, ldc, strideC);
        MemorySegment handle = context.cublas();
        context.enter();
        // cuBLAS's A is our B and its B our A (see ColumnMajorGemm).
        MemorySegment first = MemorySegment.ofAddress(address(b));
        MemorySegment second = MemorySegment.ofAddress(address(a));
        MemorySegment out = MemorySegment.ofAddress(address(c));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment alpha = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
            MemorySegment betaP = arena.allocateFrom(ValueLayout.JAVA_FLOAT, beta);
            if (batch == 1) {
                checkCublas(cublas_api_h.cublasSgemm_v2(handle, g.transa(), g.transb(), g.m(), g.n(), g.k(), alpha,
                        first, g.lda(), second, g.ldb(), betaP, out, g.ldc()), "cublasSgemm_v2");
            } else {
                checkCublas(cublas_api_h.cublasSgemmStridedBatched(handle, g.transa(), g.transb(), g.m(), g.n(), g.k(),
                        alpha, first, g.lda(), g.strideA(), second, g.ldb(), g.strideB(), betaP, out, g.ldc(),
                        g.strideC(), batch), "cublasSgemmStridedBatched");
            }
        }
    }

    // ------------------------------------------------------------------ row kernels

    @Override
    public void softmax(Tensor x, Tensor out, int rows, int n, boolean log) {
        launcher.launch(Kernel.SOFTMAX_ROWS, rows, rowThreads(n), 1, address(x), address(out), rows, n, log ? 1 : 0);
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor dy, Tensor dx, int rows, int n, boolean log) {
        launcher.launch(Kernel.SOFTMAX_BACKWARD_ROWS, rows, rowThreads(n), 1, address(y), address(dy), address(dx),
                rows, n, log ? 1 : 0);
    }

    @Override
    public void layerNorm(Tensor x, Tensor w, Tensor b, float eps, Tensor y, Tensor mean, Tensor rstd, int rows, int n) {
        launcher.launch(Kernel.LAYERNORM_ROWS, rows, rowThreads(n), 1, address(x), addressOrNull(w), addressOrNull(b),
                eps, address(y), address(mean), address(rstd), rows, n);
    }

    @Override
    public void layerNormBackward(Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dy,
                                  Tensor dx, Tensor dw, Tensor db, int rows, int n) {
        if (dx != null) {
            launcher.launch(Kernel.LAYERNORM_BACKWARD_DX, rows, rowThreads(n), 1, address(x), addressOrNull(w),
                    address(mean), address(rstd), address(dy), address(dx), rows, n);
        }
        if (dw != null || db != null) {
            launcher.launch(Kernel.LAYERNORM_BACKWARD_PARAMS, columnBlocks(n), KernelConstants.COLUMN_TILE,
                    KernelConstants.COLUMN_ROWS, address(x), address(mean),
                    address(rstd), address(dy), addressOrNull(dw), addressOrNull(db), rows, n);
        }
    }

    @Override
    public void rmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd, int rows, int n) {
        launcher.launch(Kernel.RMSNORM_ROWS, rows, rowThreads(n), 1, address(x), addressOrNull(w), eps, address(y),
                address(rstd), rows, n);
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, Tensor dx, Tensor dw, int rows, int n) {
        if (dx != null) {
            launcher.launch(Kernel.RMSNORM_BACKWARD_DX, rows, rowThreads(n), 1, address(x), addressOrNull(w),
                    address(rstd), address(dy), address(dx), rows, n);
        }
        if (dw != null) {
            launcher.launch(Kernel.RMSNORM_BACKWARD_DW, columnBlocks(n), KernelConstants.COLUMN_TILE,
                    KernelConstants.COLUMN_ROWS, address(x), address(rstd), address(dy), address(dw), rows, n);
        }
    }

    /** Blocks of a column-sum kernel over {@code n} columns. */
    private static int columnBlocks(int n) {
        return (n + KernelConstants.COLUMN_TILE - 1) / KernelConstants.COLUMN_TILE;
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse, int rows, int n) {
        launcher.launch(Kernel.CROSS_ENTROPY_ROWS, rows, rowThreads(n), 1, address(logits), address(targets),
                ignoreIndex, address(loss), address(lse), rows, n, context.errorWord());
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, Tensor lse, long ignoreIndex, float scale,
                                     Tensor dlogits, int rows, int n) {
        launcher.launch(Kernel.CROSS_ENTROPY_BACKWARD_ROWS, rows, rowThreads(n), 1, address(logits), address(targets),
                address(lse), ignoreIndex, scale, address(dlogits), rows, n, context.errorWord());
    }

    // ------------------------------------------------------------------ indexing

    @Override
    public void embedding(Tensor weight, Tensor ids, Tensor out, int count, int dim) {
        if (weight.dtype() != DType.F32 && weight.dtype() != DType.BF16 && weight.dtype() != DType.F16) {
            throw new TesseraException("embedding: the table must be F32, BF16 or F16, got " + weight.dtype());
        }
        launcher.elementwise(Kernel.EMBEDDING_FORWARD, (long) count * dim, address(weight), weight.dtype().ordinal(),
                address(ids), address(out), count, dim, rowsOf(weight, dim), context.errorWord());
    }

    @Override
    public void embeddingBackward(Tensor dout, Tensor ids, Tensor dweight, int count, int dim) {
        launcher.elementwise(Kernel.EMBEDDING_BACKWARD, (long) count * dim, address(dout), address(ids),
                address(dweight), count, dim, rowsOf(dweight, dim), context.errorWord());
    }

    private static long rowsOf(Tensor weight, int dim) {
        return dim == 0 ? 0 : weight.numel() / dim;
    }

    @Override
    public void indexSelect(Tensor x, Tensor index, Tensor out, int outer, int n, int inner, int count) {
        launcher.elementwise(Kernel.INDEX_SELECT, (long) outer * count * inner, address(x), address(index), address(out),
                outer, n, inner, count, context.errorWord());
    }

    @Override
    public void indexAdd(Tensor g, Tensor index, Tensor dx, int outer, int n, int inner, int count) {
        launcher.elementwise(Kernel.INDEX_ADD, (long) outer * count * inner, address(g), address(index), address(dx),
                outer, n, inner, count, context.errorWord());
    }

    // ------------------------------------------------------------------ optimizer

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
                      double weightDecay, long step) {
        // scalars in double, rounded once, exactly as the CPU backend
        float decay = (float) (1 - lr * weightDecay);
        float w1 = (float) (1 - beta1), b2 = (float) beta2, w2 = (float) (1 - beta2), epsF = (float) eps;
        float negStepSize = (float) -(lr / (1 - Math.pow(beta1, step)));
        float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, step));
        long n = param.numel();
        launcher.elementwise(Kernel.ADAMW_STEP, n, address(param), address(grad), address(m), address(v), n, decay, w1,
                b2, w2, epsF, negStepSize, bc2Sqrt);
    }

    // ------------------------------------------------------------------ quantized weights and state (CudaQuantOps)

    @Override
    public void dequantize4bit(Packed4Bit w, DType rounding, Tensor out) {
        quant.dequantize4bit(w, rounding, out);
    }

    @Override
    public void matmul4bit(Packed4Bit w, DType rounding, boolean inputGradient, Tensor x, int m, Tensor y) {
        quant.matmul4bit(w, rounding, inputGradient, x, m, y);
    }

    @Override
    public void quantize4bit(Tensor x, Tensor code, boolean signMagnitude, int blocksize, Tensor packed, Tensor absmax,
                             Tensor absmaxMean) {
        quant.quantize4bit(x, code, signMagnitude, blocksize, packed, absmax, absmaxMean);
    }

    @Override
    public void quantize8bit(Tensor x, Tensor map, int blocksize, Tensor codes, Tensor absmax) {
        quant.quantize8bit(x, map, blocksize, codes, absmax);
    }

    @Override
    public void dequantize8bit(Tensor codes, Tensor absmax, Tensor map, int blocksize, Tensor out) {
        quant.dequantize8bit(codes, absmax, map, blocksize, out);
    }

    @Override
    public void adamw8bit(Tensor param, Tensor grad, Tensor mCodes, Tensor mAbsmax, Tensor vCodes, Tensor vAbsmax,
                          Tensor signedMap, Tensor unsignedMap, int blocksize, double lr, double beta1, double beta2,
                          double eps, double weightDecay, long step) {
        quant.adamw8bit(param, grad, mCodes, mAbsmax, vCodes, vAbsmax, signedMap, unsignedMap, blocksize, lr, beta1,
                beta2, eps, weightDecay, step);
    }
}
