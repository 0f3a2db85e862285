package dev.tessera.core;

import dev.tessera.core.Backend.BinaryOp;
import dev.tessera.core.Backend.UnaryOp;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * An n-dimensional array with autograd: a view (shape, strides, offset, dtype) over a
 * {@link Storage}. Views — {@link #reshape}, {@link #transpose}, {@link #permute},
 * {@link #narrow}, {@link #expand}, {@link #squeeze}, {@link #unsqueeze} — never copy.
 *
 * <pre>{@code
 * Tensor w = Tensor.of(new float[] {1, 2, 3, 4}, 2, 2).requiresGrad(true);
 * Tensor x = Tensor.of(new float[] {1, 1}, 2);
 * Tensor loss = w.matmul(x).pow(2).sum();
 * loss.backward();
 * float[] dw = w.grad().toFloatArray();   // {6, 6, 14, 14}
 * }</pre>
 *
 * Broadcasting follows NumPy/PyTorch. Differentiable ops record a {@link Node} when grad mode is
 * on and an input requires grad; {@link #backward()} walks them in reverse. Memory is released
 * by the enclosing {@link Scope}, never by the garbage collector.
 *
 * <p>This class is the data type and a fluent front: each op lives with its backward rule in the
 * file of its family ({@code Elementwise}, {@code Reductions}, {@code Views}, {@code Copies},
 * {@code InPlace}, {@code Softmax}, {@code Matmul}, {@code Norms}, {@code Losses},
 * {@code LinearCrossEntropy}, {@code Indexing}); docs/OPS.md lists them with their shapes.
 */
public final class Tensor {
    private Storage storage;   // rebound only by moveTo
    private final DType dtype;
    private final int[] shape;
    private long[] strides;
    private long offset;
    private boolean requiresGrad;
    private Tensor grad;
    private Node gradFn;

    Tensor(Storage storage, DType dtype, int[] shape, long[] strides, long offset) {
        this.storage = storage;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    // ---------------------------------------------------------------- creation

    /** Uninitialised contiguous tensor on {@code device}. */
    public static Tensor empty(DType dtype, Device device, int... shape) {
        int[] s = shape.clone();
        long bytes = Math.multiplyExact(Shapes.numel(s), (long) dtype.byteSize());
        Storage storage = Backends.of(device).allocate(bytes);
        return new Tensor(storage, dtype, s, Shapes.contiguousStrides(s), 0);
    }

    public static Tensor empty(DType dtype, int... shape) {
        return empty(dtype, Device.CPU, shape);
    }

    public static Tensor full(double value, DType dtype, Device device, int... shape) {
        Tensor t = empty(dtype, device, shape);
        t.backend().fill(t, value);
        return t;
    }

    public static Tensor zeros(int... shape) {
        return full(0, DType.F32, Device.CPU, shape);
    }

    public static Tensor zeros(DType dtype, Device device, int... shape) {
        return full(0, dtype, device, shape);
    }

    public static Tensor ones(int... shape) {
        return full(1, DType.F32, Device.CPU, shape);
    }

    /** An F32 0-dim tensor. */
    public static Tensor scalar(double value) {
        return full(value, DType.F32, Device.CPU);
    }

    /** An F32 tensor holding a copy of {@code data} in row-major order. */
    public static Tensor of(float[] data, int... shape) {
        checkLength(data.length, shape);
        Tensor t = empty(DType.F32, shape);
        MemorySegment.copy(data, 0, t.storage.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, 0, data.length);
        return t;
    }

    /** An I64 tensor holding a copy of {@code data}. */
    public static Tensor ofLongs(long[] data, int... shape) {
        checkLength(data.length, shape);
        Tensor t = empty(DType.I64, shape);
        MemorySegment.copy(data, 0, t.storage.segment(), ValueLayout.JAVA_LONG_UNALIGNED, 0, data.length);
        return t;
    }

    /** An I64 tensor from ints (token ids). */
    public static Tensor ofInts(int[] data, int... shape) {
        long[] l = new long[data.length];
        for (int i = 0; i < l.length; i++) {
            l[i] = data[i];
        }
        return ofLongs(l, shape);
    }

    /** 0, 1, ..., n-1 as I64. */
    public static Tensor arange(int n) {
        long[] l = new long[n];
        for (int i = 0; i < n; i++) {
            l[i] = i;
        }
        return ofLongs(l, n);
    }

    /** A CPU tensor holding a copy of little-endian bytes (e.g. a safetensors entry). */
    public static Tensor fromBytes(DType dtype, int[] shape, MemorySegment bytes) {
        long need = checkBytes(dtype, shape, bytes);
        Tensor t = empty(dtype, shape);
        MemorySegment.copy(bytes, 0, t.storage.segment(), 0, need);
        return t;
    }

    /**
     * A CPU tensor over {@code bytes} without copying (e.g. a memory-mapped safetensors entry).
     * The tensor does not own the memory: it stays valid as long as the mapping does.
     */
    public static Tensor wrap(DType dtype, int[] shape, MemorySegment bytes) {
        long need = checkBytes(dtype, shape, bytes);
        int[] s = shape.clone();
        return new Tensor(new Storage(Device.CPU, bytes, need, null), dtype, s, Shapes.contiguousStrides(s), 0);
    }

    /** The byte size of {@code dtype} {@code shape}, checked against {@code bytes}. */
    private static long checkBytes(DType dtype, int[] shape, MemorySegment bytes) {
        long need = Math.multiplyExact(Shapes.numel(shape), (long) dtype.byteSize());
        if (bytes.byteSize() != need) {
            throw new TesseraException("expected " + need + " bytes for " + dtype + " " + Shapes.str(shape) + ", got " + bytes.byteSize());
        }
        return need;
    }

    private static void checkLength(int length, int[] shape) {
        if (Shapes.numel(shape) != length) {
            throw new TesseraException("data of length " + length + " does not fit shape " + Shapes.str(shape));
        }
    }

    // ---------------------------------------------------------------- accessors

    public DType dtype() {
        return dtype;
    }

    public Device device() {
        return storage.device();
    }

    public int[] shape() {
        return shape.clone();
    }

    /** Size of dimension {@code d} (negative counts from the end). */
    public int size(int d) {
        return shape[Shapes.axis(d, shape.length)];
    }

    public int dim() {
        return shape.length;
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    /** Strides in elements. */
    public long[] strides() {
        return strides.clone();
    }

    /** Offset of the first element in the storage, in elements. */
    public long offset() {
        return offset;
    }

    public Storage storage() {
        return storage;
    }

    Backend backend() {
        return Backends.of(storage.device());
    }

    /** True when the elements are laid out row-major without gaps (sizes of 1 ignore their stride). */
    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1) {
                if (strides[i] != expected) {
                    return false;
                }
                expected *= shape[i];
            }
        }
        return true;
    }

    /** The bytes of a contiguous CPU tensor, as a slice of its storage. */
    public MemorySegment dataSegment() {
        if (!isContiguous()) {
            throw new TesseraException("dataSegment() needs a contiguous tensor; call contiguous() first");
        }
        long size = dtype.byteSize();
        return storage.segment().asSlice(offset * size, numel() * size);
    }

    /** All elements converted to float, row-major (copies from any device). */
    public float[] toFloatArray() {
        Tensor c = to(Device.CPU).cast(DType.F32).contiguous();
        float[] out = new float[Math.toIntExact(c.numel())];
        MemorySegment.copy(c.storage.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, c.offset * 4, out, 0, out.length);
        return out;
    }

    /** All elements converted to long, row-major. */
    public long[] toLongArray() {
        Tensor c = to(Device.CPU).cast(DType.I64).contiguous();
        long[] out = new long[Math.toIntExact(c.numel())];
        MemorySegment.copy(c.storage.segment(), ValueLayout.JAVA_LONG_UNALIGNED, c.offset * 8, out, 0, out.length);
        return out;
    }

    /** The single value of a one-element tensor. */
    public float item() {
        if (numel() != 1) {
            throw new TesseraException("item() needs exactly one element, tensor has shape " + Shapes.str(shape));
        }
        return toFloatArray()[0];
    }

    @Override
    public String toString() {
        String data = numel() <= 16 && !storage.isReleased() ? " " + Arrays.toString(toFloatArray()) : "";
        return "Tensor" + Shapes.str(shape) + " " + dtype + (device().isCpu() ? "" : " " + device()) + data;
    }

    // ---------------------------------------------------------------- autograd

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** Marks a leaf tensor as needing gradients; returns this. */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null && !value) {
            throw new TesseraException("cannot clear requiresGrad of a non-leaf tensor; use detach()");
        }
        if (value && !dtype.isFloating()) {
            throw new TesseraException("only floating tensors can require gradients, this one is " + dtype);
        }
        this.requiresGrad = value;
        return this;
    }

    /** Accumulated gradient of a leaf, or null before the first backward. */
    public Tensor grad() {
        return grad;
    }

    /** Replaces the gradient (e.g. after clipping or for a checkpoint restore). */
    public void setGrad(Tensor g) {
        this.grad = g;
    }

    /** Drops the gradient (its memory returns to the allocator). */
    public void zeroGrad() {
        if (grad != null) {
            grad.release();
            grad = null;
        }
    }

    /** The node that made this tensor, or null for a leaf. */
    Node gradFn() {
        return gradFn;
    }

    /** Puts this tensor on the tape as the output of {@code node}; only {@link Autograd#record} calls it. */
    void setGradFn(Node node) {
        this.gradFn = node;
        this.requiresGrad = true;
    }

    public boolean isLeaf() {
        return gradFn == null;
    }

    /** Backpropagates from a one-element tensor (d this / d this = 1). */
    public void backward() {
        if (numel() != 1) {
            throw new TesseraException("backward() without a gradient needs a one-element tensor, got " + Shapes.str(shape));
        }
        backward(full(1, dtype, device(), shape));
    }

    /** Backpropagates {@code gradient} (same shape as this) through the recorded tape. */
    public void backward(Tensor gradient) {
        if (!requiresGrad) {
            throw new TesseraException("backward() on a tensor that does not require grad (no input requires grad, or grad mode was off)");
        }
        if (gradFn == null) {
            accumulateGrad(gradient);
            return;
        }
        Autograd.backward(this, gradient);
    }

    void accumulateGrad(Tensor g) {
        if (grad == null) {
            grad = Scope.unowned(() -> Copies.contiguousCopy(g.cast(dtype)));
        } else {
            grad.addInPlace(g, 1f);
        }
    }

    /** The same data, cut from the tape. */
    public Tensor detach() {
        return new Tensor(storage, dtype, shape, strides, offset);
    }

    // ---------------------------------------------------------------- memory

    /** Returns this tensor's storage to the allocator now (all views of it become unusable). */
    public void release() {
        storage.release();
    }

    /**
     * Moves this tensor's data to {@code target} in place, as PyTorch's {@code Module.to} does
     * with {@code param.data = param.data.to(device)}: the same object (so every module field
     * and optimizer that holds it follows), now contiguous on {@code target}; its gradient is
     * dropped. Views taken earlier keep the old storage, which is left to whoever owns it (its
     * scope, or the file it maps). Not recorded by autograd.
     *
     * <pre>{@code
     * Tensor w = Tensor.of(new float[] {1, 2}, 2);
     * w.moveTo(Device.cuda(0));   // w.device() is now cuda:0
     * }</pre>
     */
    public void moveTo(Device target) {
        if (target.equals(device())) {
            return;
        }
        Tensor moved;
        try (var ng = Autograd.noGrad()) {
            // the copy is unowned, like the parameter it becomes; a contiguous() temporary dies with its scope
            moved = Scope.unowned(() -> {
                try (var scope = Scope.open()) {
                    return scope.keep(contiguous().to(target));
                }
            });
        }
        storage = moved.storage;
        strides = moved.strides;
        offset = moved.offset;
        grad = null;
    }

    // ---------------------------------------------------------------- checks shared by the op files

    /** BF16 or F16: a storage width that products widen to F32 (frozen weights keep it). */
    boolean isFloating16() {
        return dtype == DType.BF16 || dtype == DType.F16;
    }

    void requireFloat(String op) {
        if (dtype != DType.F32) {
            throw new TesseraException(op + " computes in F32, got a " + dtype + " tensor; cast(DType.F32) first");
        }
    }

    /** The right operand of a product: F32, or a BF16/F16 tensor that needs no gradient (a frozen weight). */
    void requireFloatOrFrozen16(String op) {
        if (dtype != DType.F32 && !(isFloating16() && !requiresGrad)) {
            requireFloat(op);
        }
    }

    // ---------------------------------------------------------------- copies and casts (Copies)

    /** Copy to {@code target} (returns this when already there). */
    public Tensor to(Device target) { return Copies.to(this, target); }

    /** This tensor if already contiguous, else a contiguous copy. */
    public Tensor contiguous() { return Copies.contiguous(this); }

    /** A contiguous copy that is part of the tape (torch's clone). */
    public Tensor copy() { return Copies.copy(this); }

    /** Converts to {@code target} dtype (round to nearest even for BF16/F16). */
    public Tensor cast(DType target) { return Copies.cast(this, target); }

    // ---------------------------------------------------------------- in place, not recorded (InPlace)

    /** Copies {@code src} (broadcast to this shape, any dtype) into this tensor's elements. */
    public Tensor copyFrom(Tensor src) { return InPlace.copyFrom(this, src); }

    /** Sets every element to {@code value}. */
    public Tensor fill(double value) { return InPlace.fill(this, value); }

    /** this += alpha * other (broadcast), in place. */
    public Tensor addInPlace(Tensor other, float alpha) { return InPlace.addInPlace(this, other, alpha); }

    /** this *= factor, in place. */
    public Tensor mulInPlace(float factor) { return InPlace.mulInPlace(this, factor); }

    // ---------------------------------------------------------------- views (Views)

    /** Same data with a new shape (one size may be -1); a view when the strides allow, else a copy. */
    public Tensor reshape(int... newShape) { return Views.reshape(this, newShape); }

    /** Swaps two dimensions (a view). */
    public Tensor transpose(int d0, int d1) { return Views.transpose(this, d0, d1); }

    /** Transpose of a 2-D tensor. */
    public Tensor t() { return Views.t(this); }

    /** Reorders dimensions (a view): result dim i is input dim order[i]. */
    public Tensor permute(int... order) { return Views.permute(this, order); }

    /** Elements [start, start+length) along {@code dim} (a view). */
    public Tensor narrow(int dim, int start, int length) { return Views.narrow(this, dim, start, length); }

    /** Broadcasts to {@code target} (a view with stride 0 on expanded dims; -1 keeps a size). */
    public Tensor expand(int... target) { return Views.expand(this, target); }

    /** Inserts a dimension of size 1 at {@code dim} (a view). */
    public Tensor unsqueeze(int dim) { return Views.unsqueeze(this, dim); }

    /** Removes dimension {@code dim}, which must have size 1 (a view). */
    public Tensor squeeze(int dim) { return Views.squeeze(this, dim); }

    /** Splits along {@code dim} into pieces of the given sizes (views). */
    public Tensor[] split(int dim, int... sizes) { return Views.split(this, dim, sizes); }

    /** Stacks equal-shaped tensors along a new dimension {@code dim}. */
    public static Tensor stack(int dim, Tensor... parts) { return Views.stack(dim, parts); }

    // ---------------------------------------------------------------- elementwise (Elementwise)

    public Tensor neg() { return Elementwise.unary(this, UnaryOp.NEG, "neg", 0, 0); }
    public Tensor exp() { return Elementwise.unary(this, UnaryOp.EXP, "exp", 0, 0); }
    public Tensor log() { return Elementwise.unary(this, UnaryOp.LOG, "log", 0, 0); }
    public Tensor sqrt() { return Elementwise.unary(this, UnaryOp.SQRT, "sqrt", 0, 0); }
    public Tensor rsqrt() { return Elementwise.unary(this, UnaryOp.RSQRT, "rsqrt", 0, 0); }
    public Tensor tanh() { return Elementwise.unary(this, UnaryOp.TANH, "tanh", 0, 0); }
    public Tensor abs() { return Elementwise.unary(this, UnaryOp.ABS, "abs", 0, 0); }
    public Tensor sigmoid() { return Elementwise.unary(this, UnaryOp.SIGMOID, "sigmoid", 0, 0); }
    public Tensor relu() { return Elementwise.unary(this, UnaryOp.RELU, "relu", 0, 0); }

    /** GELU with the tanh approximation (GPT-2's gelu_new). */
    public Tensor gelu() { return Elementwise.unary(this, UnaryOp.GELU_TANH, "gelu", 0, 0); }

    /** x * sigmoid(x). */
    public Tensor silu() { return Elementwise.unary(this, UnaryOp.SILU, "silu", 0, 0); }

    /** x ^ exponent. */
    public Tensor pow(float exponent) { return Elementwise.unary(this, UnaryOp.POW_SCALAR, "pow", exponent, 0); }

    /** Limits elements to [min, max]; the gradient flows where the input is inside the range. */
    public Tensor clamp(float min, float max) { return Elementwise.unary(this, UnaryOp.CLAMP, "clamp", min, max); }

    public Tensor add(float s) { return Elementwise.unary(this, UnaryOp.ADD_SCALAR, "add", s, 0); }
    public Tensor sub(float s) { return add(-s); }
    public Tensor mul(float s) { return Elementwise.unary(this, UnaryOp.MUL_SCALAR, "mul", s, 0); }
    public Tensor div(float s) { return mul(1f / s); }

    public Tensor add(Tensor o) { return Elementwise.binary(this, BinaryOp.ADD, o); }
    public Tensor sub(Tensor o) { return Elementwise.binary(this, BinaryOp.SUB, o); }
    public Tensor mul(Tensor o) { return Elementwise.binary(this, BinaryOp.MUL, o); }
    public Tensor div(Tensor o) { return Elementwise.binary(this, BinaryOp.DIV, o); }

    /** Elementwise a ^ b. */
    public Tensor pow(Tensor exponent) { return Elementwise.binary(this, BinaryOp.POW, exponent); }

    public Tensor maximum(Tensor o) { return Elementwise.binary(this, BinaryOp.MAXIMUM, o); }
    public Tensor minimum(Tensor o) { return Elementwise.binary(this, BinaryOp.MINIMUM, o); }

    // comparisons give BOOL and are not recorded; the double forms compare with a scalar of this dtype
    public Tensor eq(Tensor o) { return Elementwise.binary(this, BinaryOp.EQ, o); }
    public Tensor ne(Tensor o) { return Elementwise.binary(this, BinaryOp.NE, o); }
    public Tensor lt(Tensor o) { return Elementwise.binary(this, BinaryOp.LT, o); }
    public Tensor le(Tensor o) { return Elementwise.binary(this, BinaryOp.LE, o); }
    public Tensor gt(Tensor o) { return Elementwise.binary(this, BinaryOp.GT, o); }
    public Tensor ge(Tensor o) { return Elementwise.binary(this, BinaryOp.GE, o); }
    public Tensor eq(double v) { return eq(full(v, dtype, device())); }
    public Tensor ne(double v) { return ne(full(v, dtype, device())); }
    public Tensor lt(double v) { return lt(full(v, dtype, device())); }
    public Tensor le(double v) { return le(full(v, dtype, device())); }
    public Tensor gt(double v) { return gt(full(v, dtype, device())); }
    public Tensor ge(double v) { return ge(full(v, dtype, device())); }

    /** cond ? a : b elementwise, broadcasting all three; cond must be BOOL. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) { return Elementwise.where(cond, a, b); }

    /** Elements where {@code mask} is true replaced by {@code value}. */
    public Tensor maskedFill(Tensor mask, float value) { return where(mask, full(value, DType.F32, device()), this); }

    /** Inverted dropout: zeroes elements with probability p and scales the rest by 1/(1-p). */
    public Tensor dropout(float p, Rng rng) { return Elementwise.dropout(this, p, rng); }

    // ---------------------------------------------------------------- reductions (Reductions)

    /** Sum of all elements (0-dim). */
    public Tensor sum() { return Reductions.sum(this); }

    public Tensor mean() { return sum().div((float) numel()); }

    /** Sum over {@code dim}. */
    public Tensor sum(int dim, boolean keepDim) { return Reductions.sum(this, dim, keepDim); }

    /** Sum over several dims. */
    public Tensor sum(int[] dims, boolean keepDim) { return Reductions.sum(this, dims, keepDim); }

    public Tensor mean(int dim, boolean keepDim) { return sum(dim, keepDim).div((float) size(dim)); }

    /** Largest value over {@code dim}. */
    public Tensor max(int dim, boolean keepDim) { return Reductions.max(this, dim, keepDim); }

    /** Smallest value over {@code dim}. */
    public Tensor min(int dim, boolean keepDim) { return Reductions.min(this, dim, keepDim); }

    /** Index (I64) of the first largest value over {@code dim}. */
    public Tensor argmax(int dim, boolean keepDim) { return Reductions.argmax(this, dim, keepDim); }

    /** Reduces a broadcast gradient back to {@code target}'s shape by summing the broadcast dims. */
    Tensor sumTo(int[] target) { return Reductions.sumTo(this, target); }

    // ---------------------------------------------------------------- products, normalisation, losses

    /**
     * Matrix product with PyTorch's rules: 1-D operands are promoted, leading (batch) dims
     * broadcast. Transposed views are passed to GEMM as transposes, without copies. This is F32;
     * {@code other} may also be a BF16/F16 tensor that needs no gradient (a frozen weight): it is
     * widened to F32 strip by strip inside the product, never whole.
     */
    public Tensor matmul(Tensor other) { return Matmul.matmul(this, other); }

    /** Softmax over {@code dim} (fused). */
    public Tensor softmax(int dim) { return Softmax.softmax(this, dim, false); }

    /** log(softmax) over {@code dim}, computed stably (fused). */
    public Tensor logSoftmax(int dim) { return Softmax.softmax(this, dim, true); }

    /** Layer norm over the last dimension; weight and bias [C] may be null. */
    public Tensor layerNorm(Tensor weight, Tensor bias, float eps) { return Norms.layerNorm(this, weight, bias, eps); }

    /** RMS norm over the last dimension (Llama's, computed in F32): x * rsqrt(mean(x²) + eps) * weight. */
    public Tensor rmsNorm(Tensor weight, float eps) { return Norms.rmsNorm(this, weight, eps); }

    /** Mean cross entropy of logits [N, V] against I64 targets [N], ignoring targets equal to -100. */
    public Tensor crossEntropy(Tensor targets) { return crossEntropy(targets, -100); }

    /** Mean cross entropy over the targets not equal to {@code ignoreIndex} (NaN when all are ignored, as PyTorch). */
    public Tensor crossEntropy(Tensor targets, long ignoreIndex) { return Losses.crossEntropy(this, targets, ignoreIndex); }

    /**
     * Mean cross entropy of the logits {@code this [N, C] · weightᵀ} ({@code weight [V, C]}, F32 or
     * a frozen BF16/F16) against I64 targets [N], ignoring -100: the same number as
     * {@code matmul(weight.t()).crossEntropy(targets)}, computed a chunk of rows at a time so the
     * {@code [N, V]} logits and their gradient never exist whole (the gradients are computed with
     * each chunk's logits, in the forward). On a device the targets stay there.
     */
    public Tensor linearCrossEntropy(Tensor weight, Tensor targets) {
        return LinearCrossEntropy.forward(this, weight, targets, -100, 0);
    }

    // ---------------------------------------------------------------- joining and indexing (Indexing)

    /** Rows of this [V, C] weight at I64 {@code ids} of any shape: result [..., C]. */
    public Tensor embedding(Tensor ids) { return Indexing.embedding(this, ids); }

    /** Joins tensors along {@code dim}. */
    public static Tensor cat(int dim, Tensor... parts) { return Indexing.cat(dim, parts); }

    /** Entries at I64 {@code index} [K] along {@code dim}. */
    public Tensor indexSelect(int dim, Tensor index) { return Indexing.indexSelect(this, dim, index); }

    /** torch.gather: out[i][j][k] = this[i][index[i][j][k]][k] for dim 1, and so on. */
    public Tensor gather(int dim, Tensor index) { return Indexing.gather(this, dim, index); }
}
