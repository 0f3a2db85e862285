package dev.tessera.core.cpu;

import dev.tessera.core.Backend;
import dev.tessera.core.CachingAllocator;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Storage;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.LongAdder;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The pure-Java reference backend. Elementwise and row kernels use the Vector API with the
 * species chosen once; loops over rows run on the fixed {@link Parallel} pool. Every kernel
 * reads and writes through bounds-checked {@link MemorySegment}s.
 */
public final class CpuBackend implements Backend {
    static final VectorSpecies<Float> F = VectorWidth.FLOATS;
    static final int L = F.length();
    static final ValueLayout.OfFloat FL = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ValueLayout.OfLong LL = ValueLayout.JAVA_LONG_UNALIGNED;
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Elements per parallel task below which a loop stays on the calling thread. */
    static final int GRAIN = 1 << 15;
    private static final float SQRT_2_OVER_PI = 0.7978845608028654f;
    private static final float GELU_C = 0.044715f;

    private final CachingAllocator allocator = new CachingAllocator();
    /** 2·m·n·k of every matrix product issued, for achieved GFLOP/s ({@code bench train}). */
    private final LongAdder matmulFlops = new LongAdder();

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public Storage allocate(long bytes) {
        return Storage.allocate(Device.CPU, allocator, bytes);
    }

    @Override
    public void synchronize() {
        // kernels return when their work is done
    }

    @Override
    public long liveBytes() {
        return allocator.liveBytes();
    }

    @Override
    public long peakLiveBytes() {
        return allocator.peakLiveBytes();
    }

    @Override
    public void resetPeakLiveBytes() {
        allocator.resetPeak();
    }

    @Override
    public long matmulFlops() {
        return matmulFlops.sum();
    }

    /** The allocator (for memory statistics). */
    public CachingAllocator allocator() {
        return allocator;
    }

    static MemorySegment seg(Tensor t) {
        return t.storage().segment();
    }

    // ------------------------------------------------------------------ copy / fill

    @Override
    public void copy(Tensor src, Tensor dst) {
        DType sd = src.dtype(), dd = dst.dtype();
        if (src.isContiguous() && dst.isContiguous() && sd == dd) {
            long bytes = dst.numel() * dd.byteSize();
            MemorySegment.copy(seg(src), src.offset() * sd.byteSize(), seg(dst), dst.offset() * dd.byteSize(), bytes);
            return;
        }
        if (src.isContiguous() && dst.isContiguous() && (sd == DType.BF16 || sd == DType.F16) && dd == DType.F32) {
            // widening a 16-bit weight (loading, casts): vectorised, in parallel
            GemmMixed.widenParallel(seg(src), sd, src.offset() * 2, seg(dst), dst.offset() * 4, dst.numel());
            return;
        }
        MemorySegment s = seg(src), d = seg(dst);
        Strided.forEachRow(dst.shape(), new long[][] {dst.strides(), src.strides()}, new long[] {dst.offset(), src.offset()},
                (offs, len, st) -> {
                    long di = offs[0], si = offs[1];
                    long dstS = st[0], srcS = st[1];
                    if (sd == DType.F32 && dd == DType.F32) {
                        for (int i = 0; i < len; i++) {
                            d.set(FL, (di + i * dstS) * 4, s.get(FL, (si + i * srcS) * 4));
                        }
                    } else if (sd == dd) {
                        int size = sd.byteSize();
                        for (int i = 0; i < len; i++) {
                            MemorySegment.copy(s, (si + i * srcS) * size, d, (di + i * dstS) * size, size);
                        }
                    } else if (!sd.isFloating() && !dd.isFloating()) {
                        for (int i = 0; i < len; i++) {
                            Elements.writeLong(d, dd, di + i * dstS, Elements.readLong(s, sd, si + i * srcS));
                        }
                    } else {
                        for (int i = 0; i < len; i++) {
                            Elements.write(d, dd, di + i * dstS, Elements.read(s, sd, si + i * srcS));
                        }
                    }
                });
    }

    @Override
    public void fill(Tensor dst, double value) {
        MemorySegment d = seg(dst);
        long n = dst.numel(), off = dst.offset();
        DType dt = dst.dtype();
        if (value == 0 && !Double.isNaN(value) && 1 / value > 0) {
            d.asSlice(off * dt.byteSize(), n * dt.byteSize()).fill((byte) 0);
            return;
        }
        if (dt == DType.F32) {
            float v = (float) value;
            long i = 0;
            FloatVector fv = FloatVector.broadcast(F, v);
            for (; i + L <= n; i += L) {
                fv.intoMemorySegment(d, (off + i) * 4, NATIVE);
            }
            for (; i < n; i++) {
                d.set(FL, (off + i) * 4, v);
            }
        } else if (dt.isFloating()) {
            for (long i = 0; i < n; i++) {
                Elements.write(d, dt, off + i, value);
            }
        } else {
            for (long i = 0; i < n; i++) {
                Elements.writeLong(d, dt, off + i, (long) value);
            }
        }
    }

    // ------------------------------------------------------------------ elementwise

    @Override
    public void unary(UnaryOp op, Tensor x, Tensor out, float p1, float p2) {
        MemorySegment xs = seg(x), os = seg(out);
        long xo = x.offset() * 4, oo = out.offset() * 4;
        long n = x.numel();
        Parallel.forRange(n, GRAIN, (from, to) -> {
            long i = from;
            if (Elements.vectorizable(op, p1)) {
                for (; i + L <= to; i += L) {
                    FloatVector v = FloatVector.fromMemorySegment(F, xs, xo + i * 4, NATIVE);
                    Elements.unaryVector(op, v, p1, p2).intoMemorySegment(os, oo + i * 4, NATIVE);
                }
            }
            for (; i < to; i++) {
                os.set(FL, oo + i * 4, Elements.unaryScalar(op, xs.get(FL, xo + i * 4), p1, p2));
            }
        });
    }

    @Override
    public void unaryBackward(UnaryOp op, Tensor x, Tensor dy, Tensor dx, float p1, float p2) {
        MemorySegment xs = seg(x), gs = seg(dy), ds = seg(dx);
        long xo = x.offset() * 4, go = dy.offset() * 4, dso = dx.offset() * 4;
        long n = x.numel();
        Parallel.forRange(n, GRAIN, (from, to) -> {
            long i = from;
            if (Elements.VECTOR_GRADIENTS.contains(op)) {
                for (; i + L <= to; i += L) {
                    FloatVector v = FloatVector.fromMemorySegment(F, xs, xo + i * 4, NATIVE);
                    FloatVector g = FloatVector.fromMemorySegment(F, gs, go + i * 4, NATIVE);
                    Elements.unaryGradVector(op, v, g, p1).intoMemorySegment(ds, dso + i * 4, NATIVE);
                }
            }
            for (; i < to; i++) {
                float g = gs.get(FL, go + i * 4);
                ds.set(FL, dso + i * 4, g * Elements.unaryDerivative(op, xs.get(FL, xo + i * 4), p1, p2));
            }
        });
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        MemorySegment as = seg(a), bs = seg(b), os = seg(out);
        boolean comparison = out.dtype() == DType.BOOL;
        DType in = a.dtype();
        Strided.forEachRow(out.shape(), new long[][] {out.strides(), a.strides(), b.strides()},
                new long[] {out.offset(), a.offset(), b.offset()}, (offs, len, st) -> {
                    long oi = offs[0], ai = offs[1], bi = offs[2];
                    long sa = st[1], sb = st[2];
                    if (comparison) {
                        for (int i = 0; i < len; i++) {
                            double x = Elements.read(as, in, ai + i * sa), y = Elements.read(bs, in, bi + i * sb);
                            os.set(ValueLayout.JAVA_BYTE, oi + i * st[0], Elements.compare(op, x, y) ? (byte) 1 : 0);
                        }
                        return;
                    }
                    int i = 0;
                    if (st[0] == 1 && Elements.vectorizable(op)) {
                        if (sa == 1 && sb == 1) {
                            for (; i + L <= len; i += L) {
                                FloatVector x = FloatVector.fromMemorySegment(F, as, (ai + i) * 4, NATIVE);
                                FloatVector y = FloatVector.fromMemorySegment(F, bs, (bi + i) * 4, NATIVE);
                                Elements.binaryVector(op, x, y).intoMemorySegment(os, (oi + i) * 4, NATIVE);
                            }
                        } else if (sa == 1 && sb == 0) {
                            FloatVector y = FloatVector.broadcast(F, bs.get(FL, bi * 4));
                            for (; i + L <= len; i += L) {
                                FloatVector x = FloatVector.fromMemorySegment(F, as, (ai + i) * 4, NATIVE);
                                Elements.binaryVector(op, x, y).intoMemorySegment(os, (oi + i) * 4, NATIVE);
                            }
                        } else if (sa == 0 && sb == 1) {
                            FloatVector x = FloatVector.broadcast(F, as.get(FL, ai * 4));
                            for (; i + L <= len; i += L) {
                                FloatVector y = FloatVector.fromMemorySegment(F, bs, (bi + i) * 4, NATIVE);
                                Elements.binaryVector(op, x, y).intoMemorySegment(os, (oi + i) * 4, NATIVE);
                            }
                        }
                    }
                    for (; i < len; i++) {
                        float x = as.get(FL, (ai + i * sa) * 4), y = bs.get(FL, (bi + i * sb) * 4);
                        os.set(FL, (oi + i * st[0]) * 4, Elements.binaryScalar(op, x, y));
                    }
                });
    }

    @Override
    public void where(Tensor cond, Tensor a, Tensor b, Tensor out) {
        MemorySegment cs = seg(cond), as = seg(a), bs = seg(b), os = seg(out);
        Strided.forEachRow(out.shape(), new long[][] {out.strides(), cond.strides(), a.strides(), b.strides()},
                new long[] {out.offset(), cond.offset(), a.offset(), b.offset()}, (offs, len, st) -> {
                    for (int i = 0; i < len; i++) {
                        boolean c = cs.get(ValueLayout.JAVA_BYTE, offs[1] + i * st[1]) != 0;
                        float v = c ? as.get(FL, (offs[2] + i * st[2]) * 4) : bs.get(FL, (offs[3] + i * st[3]) * 4);
                        os.set(FL, (offs[0] + i * st[0]) * 4, v);
                    }
                });
    }

    // ------------------------------------------------------------------ reductions

    @Override
    public void reduce(ReduceOp op, Tensor x, int outer, int n, int inner, Tensor out) {
        MemorySegment xs = seg(x), os = seg(out);
        long xo = x.offset(), oo = out.offset();
        if (inner == 1) {
            Parallel.forRange(outer, Math.max(1, GRAIN / Math.max(n, 1)), (from, to) -> {
                for (long r = from; r < to; r++) {
                    long base = (xo + r * n) * 4;
                    switch (op) {
                        case SUM -> os.set(FL, (oo + r) * 4, Rows.sum(xs, base, n));
                        case MAX -> os.set(FL, (oo + r) * 4, Rows.max(xs, base, n));
                        case MIN -> os.set(FL, (oo + r) * 4, -Rows.maxNeg(xs, base, n));
                        case ARGMAX -> os.set(LL, (oo + r) * 8, Rows.argmax(xs, base, n));
                    }
                }
            });
            return;
        }
        Parallel.forRange((long) outer * inner, GRAIN, (from, to) -> {
            // column-wise over n for each (outer, inner) output element in [from, to)
            for (long e = from; e < to; e++) {
                long o = e / inner, j = e % inner;
                long base = xo + o * (long) n * inner + j;
                if (op == ReduceOp.SUM) {
                    float acc = 0;
                    for (int i = 0; i < n; i++) {
                        acc += xs.get(FL, (base + (long) i * inner) * 4);
                    }
                    os.set(FL, (oo + e) * 4, acc);
                } else {
                    float best = xs.get(FL, base * 4);
                    int bestAt = 0;
                    for (int i = 1; i < n; i++) {
                        float v = xs.get(FL, (base + (long) i * inner) * 4);
                        boolean better = op == ReduceOp.MIN ? v < best : v > best;
                        if (better || Float.isNaN(v) && !Float.isNaN(best)) {
                            best = v;
                            bestAt = i;
                        }
                    }
                    if (op == ReduceOp.ARGMAX) {
                        os.set(LL, (oo + e) * 8, bestAt);
                    } else {
                        os.set(FL, (oo + e) * 4, best);
                    }
                }
            }
        });
    }

    // ------------------------------------------------------------------ GEMM

    @Override
    public void gemm(boolean transA, boolean transB, int batch, int m, int n, int k,
                     Tensor a, long lda, long strideA, Tensor b, long ldb, long strideB,
                     float beta, Tensor c, long ldc, long strideC) {
        matmulFlops.add(2L * batch * m * n * k);
        if (b.dtype() != DType.F32) {
            GemmMixed.gemmBatched(batch, transA, transB, m, n, k, seg(a), a.offset(), lda, strideA,
                    seg(b), b.dtype(), b.offset(), ldb, strideB, beta, seg(c), c.offset(), ldc, strideC);
            return;
        }
        Gemm.sgemmBatched(batch, transA, transB, m, n, k, seg(a), a.offset(), lda, strideA,
                seg(b), b.offset(), ldb, strideB, beta, seg(c), c.offset(), ldc, strideC);
    }

    // ------------------------------------------------------------------ row kernels

    @Override
    public void softmax(Tensor x, Tensor out, int rows, int n, boolean log) {
        CpuRowOps.softmax(x, out, rows, n, log);
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor dy, Tensor dx, int rows, int n, boolean log) {
        CpuRowOps.softmaxBackward(y, dy, dx, rows, n, log);
    }

    @Override
    public void layerNorm(Tensor x, Tensor w, Tensor b, float eps, Tensor y, Tensor mean, Tensor rstd, int rows, int n) {
        CpuRowOps.layerNorm(x, w, b, eps, y, mean, rstd, rows, n);
    }

    @Override
    public void layerNormBackward(Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dy, Tensor dx, Tensor dw, Tensor db, int rows, int n) {
        CpuRowOps.layerNormBackward(x, w, mean, rstd, dy, dx, dw, db, rows, n);
    }

    @Override
    public void rmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd, int rows, int n) {
        CpuRowOps.rmsNorm(x, w, eps, y, rstd, rows, n);
    }

    @Override
    public void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, Tensor dx, Tensor dw, int rows, int n) {
        CpuRowOps.rmsNormBackward(x, w, rstd, dy, dx, dw, rows, n);
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse, int rows, int n) {
        CpuRowOps.crossEntropy(logits, targets, ignoreIndex, loss, lse, rows, n);
    }

    @Override
    public void crossEntropyBackward(Tensor logits, Tensor targets, Tensor lse, long ignoreIndex, float scale, Tensor dlogits, int rows, int n) {
        CpuRowOps.crossEntropyBackward(logits, targets, lse, ignoreIndex, scale, dlogits, rows, n);
    }

    // ------------------------------------------------------------------ indexing

    @Override
    public void embedding(Tensor weight, Tensor ids, Tensor out, int count, int dim) {
        MemorySegment ws = seg(weight), is = seg(ids), os = seg(out);
        long wo = weight.offset() * 4, io = ids.offset() * 8, oo = out.offset() * 4;
        long vocab = dim == 0 ? 0 : weight.numel() / dim;
        // the ids are checked as they are read: on the CPU a kernel can report at once
        for (long i = 0; i < count; i++) {
            long id = is.get(LL, io + i * 8);
            if (id < 0 || id >= vocab) {
                throw new TesseraException("embedding: token id " + id + " out of range for a vocabulary of " + vocab);
            }
        }
        if (weight.dtype() != DType.F32) {
            // a frozen BF16/F16 table: only the rows looked up are widened
            Tensor table = weight.reshape((int) vocab, dim), rows = out.reshape(count, dim);
            for (int i = 0; i < count; i++) {
                copy(table.narrow(0, (int) is.get(LL, io + i * 8L), 1), rows.narrow(0, i, 1));
            }
            return;
        }
        Parallel.forRange(count, Math.max(1, GRAIN / Math.max(dim, 1)), (from, to) -> {
            for (long i = from; i < to; i++) {
                long id = is.get(LL, io + i * 8);
                MemorySegment.copy(ws, wo + id * dim * 4, os, oo + i * dim * 4, dim * 4L);
            }
        });
    }

    @Override
    public void embeddingBackward(Tensor dout, Tensor ids, Tensor dweight, int count, int dim) {
        MemorySegment gs = seg(dout), is = seg(ids), ds = seg(dweight);
        long go = dout.offset() * 4, io = ids.offset() * 8, dso = dweight.offset() * 4;
        // Parallel over columns so rows with the same id never race.
        Parallel.forRange(dim, 64, (c0, c1) -> {
            for (long i = 0; i < count; i++) {
                long id = is.get(LL, io + i * 8);
                Rows.addInto(gs, go + (i * dim + c0) * 4, ds, dso + (id * dim + c0) * 4, (int) (c1 - c0));
            }
        });
    }

    @Override
    public void indexSelect(Tensor x, Tensor index, Tensor out, int outer, int n, int inner, int count) {
        MemorySegment xs = seg(x), is = seg(index), os = seg(out);
        long xo = x.offset() * 4, io = index.offset() * 8, oo = out.offset() * 4;
        for (long j = 0; j < count; j++) {
            long i = is.get(LL, io + j * 8);
            if (i < 0 || i >= n) {
                throw new TesseraException("indexSelect: index " + i + " out of range for a dimension of size " + n);
            }
        }
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < count; j++) {
                long src = is.get(LL, io + j * 8);
                MemorySegment.copy(xs, xo + ((o * n + src) * inner) * 4, os, oo + ((o * count + j) * inner) * 4, inner * 4L);
            }
        }
    }

    @Override
    public void indexAdd(Tensor g, Tensor index, Tensor dx, int outer, int n, int inner, int count) {
        MemorySegment gs = seg(g), is = seg(index), ds = seg(dx);
        long go = g.offset() * 4, io = index.offset() * 8, dso = dx.offset() * 4;
        for (long o = 0; o < outer; o++) {
            for (long j = 0; j < count; j++) {
                long dst = is.get(LL, io + j * 8);
                Rows.addInto(gs, go + ((o * count + j) * inner) * 4, ds, dso + ((o * n + dst) * inner) * 4, inner);
            }
        }
    }

    // ------------------------------------------------------------------ optimizer and quantized weights

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps, double weightDecay, long step) {
        CpuQuantOps.adamw(param, grad, m, v, lr, beta1, beta2, eps, weightDecay, step);
    }

    @Override
    public void dequantize4bit(Packed4Bit w, DType rounding, Tensor out) {
        CpuQuantOps.dequantize4bit(w, rounding, out);
    }

    @Override
    public void matmul4bit(Packed4Bit w, DType rounding, boolean inputGradient, Tensor x, int m, Tensor y) {
        matmulFlops.add(2L * m * w.rows() * w.cols());
        CpuQuantOps.matmul4bit(w, rounding, inputGradient, x, m, y);
    }

    @Override
    public void quantize4bit(Tensor x, Tensor code, boolean signMagnitude, int blocksize, Tensor packed, Tensor absmax,
                             Tensor absmaxMean) {
        Blockwise4.quantize(x, code, signMagnitude, blocksize, packed, absmax, absmaxMean);
    }

    @Override
    public void quantize8bit(Tensor x, Tensor map, int blocksize, Tensor codes, Tensor absmax) {
        CpuQuantOps.quantize8bit(x, map, blocksize, codes, absmax);
    }

    @Override
    public void dequantize8bit(Tensor codes, Tensor absmax, Tensor map, int blocksize, Tensor out) {
        CpuQuantOps.dequantize8bit(codes, absmax, map, blocksize, out);
    }

    @Override
    public void adamw8bit(Tensor param, Tensor grad, Tensor mCodes, Tensor mAbsmax, Tensor vCodes, Tensor vAbsmax, Tensor signedMap, Tensor unsignedMap, int blocksize, double lr, double beta1, double beta2, double eps, double weightDecay, long step) {
        CpuQuantOps.adamw8bit(param, grad, mCodes, mAbsmax, vCodes, vAbsmax, signedMap, unsignedMap, blocksize, lr, beta1, beta2, eps, weightDecay, step);
    }


    static float geluScalar(float x) {
        float inner = SQRT_2_OVER_PI * (x + GELU_C * x * x * x);
        return 0.5f * x * (1f + VecMath.tanh(inner));
    }

    static float geluDerivative(float x) {
        float x2 = x * x;
        float inner = SQRT_2_OVER_PI * (x + GELU_C * x2 * x);
        float t = VecMath.tanh(inner);
        return 0.5f * (1f + t) + 0.5f * x * (1f - t * t) * SQRT_2_OVER_PI * (1f + 3f * GELU_C * x2);
    }

    static FloatVector geluVector(FloatVector x) {
        FloatVector inner = x.mul(x).mul(x).mul(GELU_C).add(x).mul(SQRT_2_OVER_PI);
        return x.mul(0.5f).mul(VecMath.tanh(inner).add(1f));
    }

    static FloatVector geluDerivativeVector(FloatVector x) {
        FloatVector x2 = x.mul(x);
        FloatVector t = VecMath.tanh(x2.mul(x).mul(GELU_C).add(x).mul(SQRT_2_OVER_PI));
        FloatVector left = t.add(1f).mul(0.5f);
        FloatVector right = x.mul(0.5f).mul(t.mul(t).neg().add(1f)).mul(x2.mul(3f * GELU_C).add(1f).mul(SQRT_2_OVER_PI));
        return left.add(right);
    }
}
