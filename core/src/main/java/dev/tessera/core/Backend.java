package dev.tessera.core;

import java.nio.file.Path;

/**
 * The service-provider interface every device implements. The tensor layer ({@link Tensor})
 * handles shapes, broadcasting, views and autograd; a backend only runs kernels on storage of
 * its own device. Unless a method says otherwise, float operands are F32 and outputs are
 * contiguous; inputs described as "views" may have any strides, including 0 (broadcast).
 *
 * <p>The CPU backend ({@code dev.tessera.core.cpu.CpuBackend}) is the reference; other devices
 * are found with {@link java.util.ServiceLoader} through {@link BackendProvider} and are tested
 * against it op by op.
 */
public interface Backend {
    enum UnaryOp { NEG, EXP, LOG, SQRT, RSQRT, TANH, ABS, GELU_TANH, SILU, SIGMOID, RELU, POW_SCALAR, CLAMP, ADD_SCALAR, MUL_SCALAR }

    enum BinaryOp { ADD, SUB, MUL, DIV, POW, MAXIMUM, MINIMUM, EQ, NE, LT, LE, GT, GE }

    enum ReduceOp { SUM, MAX, MIN, ARGMAX }

    Device device();

    /** Storage of at least {@code bytes}, registered with the current {@link Scope}. */
    Storage allocate(long bytes);

    /** Waits until every operation issued to this device so far has finished (a no-op on the CPU). */
    void synchronize();

    /** Bytes currently handed out by this device's allocator. */
    long liveBytes();

    /** The highest {@link #liveBytes()} since start or the last {@link #resetPeakLiveBytes()}. */
    default long peakLiveBytes() {
        return liveBytes();
    }

    /** Starts a new peak at the current live bytes (e.g. before loading a model). */
    default void resetPeakLiveBytes() {}

    /**
     * The two memory tiers of a {@link PagedMemory} on this device: a fast tier of {@code slots}
     * pages that this backend's kernels read, and a slow tier holding every page. The default is
     * the CPU's (off-heap RAM, and a memory-mapped file in {@code slowDir}); a backend whose
     * kernels cannot read host memory returns tiers in its own memory.
     */
    default PageTiers pageTiers(long pageBytes, int slots, Path slowDir) {
        return new HostPageTiers(pageBytes, slots, slowDir);
    }

    /**
     * Floating-point operations (2·m·n·k per product) of every matrix product issued to this
     * backend since start, or -1 when the backend does not count them. Matrix products are
     * nearly all of a training step's arithmetic, so counted FLOPs over the step time is the
     * step's achieved GFLOP/s.
     */
    default long matmulFlops() {
        return -1;
    }

    /** dst[i] = cast(src[i]) over dst's shape; src is a view broadcast to dst's shape, dst any strides. */
    void copy(Tensor src, Tensor dst);

    /** Sets every element of the contiguous {@code dst} to {@code value} (converted to its dtype). */
    void fill(Tensor dst, double value);

    /** out = op(x) elementwise; x and out contiguous F32 of equal size; p1/p2 are op parameters (exponent, clamp bounds, scalar). */
    void unary(UnaryOp op, Tensor x, Tensor out, float p1, float p2);

    /** dx = dy * op'(x) elementwise (contiguous F32). */
    void unaryBackward(UnaryOp op, Tensor x, Tensor dy, Tensor dx, float p1, float p2);

    /** out = a op b; a and b are views broadcast to out's shape; comparison ops write BOOL. */
    void binary(BinaryOp op, Tensor a, Tensor b, Tensor out);

    /** out = cond ? a : b; all three views broadcast to out's shape, cond BOOL. */
    void where(Tensor cond, Tensor a, Tensor b, Tensor out);

    /**
     * Reduces the contiguous x viewed as [outer, n, inner] over the middle axis into out
     * [outer, inner] (F32, or I64 for ARGMAX).
     */
    void reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor out);

    /**
     * Batched row-major GEMM: for each of {@code batch} matrices, C = beta*C + op(A)·op(B).
     * Offsets come from the tensors' element offsets; lda/ldb/ldc are row strides and
     * strideA/B/C batch strides, in elements (a batch stride of 0 broadcasts). A and C are F32;
     * on the CPU backend B may also be BF16 or F16 (a frozen weight, widened inside the product).
     */
    void gemm(boolean transA, boolean transB, int batch, int m, int n, int k,
              Tensor a, long lda, long strideA, Tensor b, long ldb, long strideB,
              float beta, Tensor c, long ldc, long strideC);

    /** Row-wise (log-)softmax of contiguous x [rows, n] into out. */
    void softmax(Tensor x, Tensor out, int rows, int n, boolean log);

    /** Gradient of row-wise (log-)softmax given its output y and dy. */
    void softmaxBackward(Tensor y, Tensor dy, Tensor dx, int rows, int n, boolean log);

    /** Layer norm over the last axis of contiguous x [rows, n]; saves mean and rstd [rows]. w and b may be null. */
    void layerNorm(Tensor x, Tensor w, Tensor b, float eps, Tensor y, Tensor mean, Tensor rstd, int rows, int n);

    /** Layer norm gradients; dx, dw and db may be null when not needed; dw and db are overwritten. */
    void layerNormBackward(Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dy,
                           Tensor dx, Tensor dw, Tensor db, int rows, int n);

    /** RMS norm over the last axis: y = x * rsqrt(mean(x²) + eps) * w; saves rstd [rows]. */
    void rmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd, int rows, int n);

    /** RMS norm gradients; dx and dw may be null; dw is overwritten. */
    void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, Tensor dx, Tensor dw, int rows, int n);

    /**
     * Cross entropy per row of contiguous logits [rows, n] against I64 targets [rows]; writes
     * loss [rows] (0 where target == ignoreIndex) and the row log-sum-exp [rows].
     */
    void crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse, int rows, int n);

    /** dlogits = (softmax - onehot) * scale on rows whose target is not ignoreIndex, 0 elsewhere. */
    void crossEntropyBackward(Tensor logits, Tensor targets, Tensor lse, long ignoreIndex, float scale,
                              Tensor dlogits, int rows, int n);

    /**
     * out[i, :] = weight[ids[i], :] for contiguous weight [V, C], I64 ids [count], F32 out; the
     * weight is F32, or BF16/F16 (a frozen table, its rows widened to F32 exactly). An id outside
     * [0, V) is an error ("embedding: token id ID out of range for a vocabulary of V"), reported at
     * once on the CPU and at the next synchronisation on a device.
     */
    void embedding(Tensor weight, Tensor ids, Tensor out, int count, int dim);

    /** dweight[ids[i], :] += dout[i, :]. */
    void embeddingBackward(Tensor dout, Tensor ids, Tensor dweight, int count, int dim);

    /** out = x.index_select(dim) for contiguous x viewed as [outer, n, inner] and I64 index [count]. */
    void indexSelect(Tensor x, Tensor index, Tensor out, int outer, int n, int inner, int count);

    /** dx[:, index[j], :] += g[:, j, :] (the backward of indexSelect). */
    void indexAdd(Tensor g, Tensor index, Tensor dx, int outer, int n, int inner, int count);

    /**
     * One AdamW step in place over contiguous F32 param, grad, m, v of equal size, exactly as
     * PyTorch's single-tensor AdamW: p *= 1 - lr*wd; m = lerp(m, g, 1-b1); v = b2 v + (1-b2) g²;
     * p -= (lr / (1 - b1^step)) * m / (sqrt(v) / sqrt(1 - b2^step) + eps).
     */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
               double weightDecay, long step);

    // ---------------------------------------------------------------- quantized weights and state

    /**
     * Decodes every element of {@code w} (see {@link Packed4Bit}) into the contiguous {@code out}
     * [rows * cols]: F32 {@code round(code[q] * absmax, rounding)} where rounding is F32 (none),
     * BF16 or F16 (nearest even, back to F32); or, for a BF16 {@code out}, the F32 value rounded
     * to BF16 (rounding must then be F32).
     */
    void dequantize4bit(Packed4Bit w, DType rounding, Tensor out);

    /**
     * The 4-bit matrix product, W decoded tile by tile inside the product (never whole), each
     * element as {@link #dequantize4bit} decodes it with {@code rounding}. Forward
     * ({@code inputGradient} false): x [m, cols], y [m, rows], y = x · Wᵀ. Input gradient: x [m, rows],
     * y [m, cols], y = x · W. x and y contiguous F32; y is overwritten.
     */
    void matmul4bit(Packed4Bit w, DType rounding, boolean inputGradient, Tensor x, int m, Tensor y);

    /**
     * Blockwise 4-bit quantization (bitsandbytes' quantize_4bit) of contiguous F32 x [n] in blocks
     * of {@code blocksize} (even): absmax[b] = max |x| over block b (F32 [blocks]); x[i] becomes the
     * index of the entry of {@code code} (F32 [16]) nearest to x[i] / absmax[b] in F32, the lower
     * index on an exact tie (midpoints in double). With {@code signMagnitude} (FP4) the search runs
     * over entries 0..7 on |x[i] / absmax[b]| and 8 is added when the quotient is negative. A block
     * of zeros takes absmax 0 and the code nearest to 0. Two codes per byte of {@code packed}
     * (U8 [(n + 1) / 2]), the first in the high nibble; an odd count pads with the code of 0.
     * When {@code absmaxMean} (F32 [1]) is given it receives double quantization's offset,
     * {@code (float) (sum of absmax in double, in block order / blocks)}. A non-finite x is
     * reported as an error.
     */
    void quantize4bit(Tensor x, Tensor code, boolean signMagnitude, int blocksize, Tensor packed, Tensor absmax,
                      Tensor absmaxMean);

    /**
     * Blockwise 8-bit quantization (bitsandbytes' quantize_blockwise) of contiguous F32 x [n]:
     * absmax[b] = max |x| over block b (F32 [blocks]); codes[i] (U8 [n]) = index of the entry of
     * {@code map} (F32 [256], ascending) nearest to x[i] / absmax[b], the lowest index on a tie;
     * 0 / 0 reads as 0. A non-finite x is reported as an error.
     */
    void quantize8bit(Tensor x, Tensor map, int blocksize, Tensor codes, Tensor absmax);

    /** out[i] = map[codes[i]] * absmax[i / blocksize] in F32; codes U8 [n], out F32 [n], contiguous. */
    void dequantize8bit(Tensor codes, Tensor absmax, Tensor map, int blocksize, Tensor out);

    /**
     * bitsandbytes' 8-bit AdamW step in place, fused: per block of {@code blocksize}, m and v are
     * decoded from their codes (m with {@code signedMap}, v with {@code unsignedMap}), updated
     * exactly as {@link #adamw} updates F32 state, and re-encoded as {@link #quantize8bit} does.
     * param and grad contiguous F32 [n]; codes U8 [n]; absmax F32 [blocks].
     */
    void adamw8bit(Tensor param, Tensor grad, Tensor mCodes, Tensor mAbsmax, Tensor vCodes, Tensor vAbsmax,
                   Tensor signedMap, Tensor unsignedMap, int blocksize, double lr, double beta1, double beta2,
                   double eps, double weightDecay, long step);
}
