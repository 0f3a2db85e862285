package dev.tessera.core;

import dev.tessera.core.Backend.BinaryOp;
import dev.tessera.core.Backend.ReduceOp;
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
        long need = Math.multiplyExact(Shapes.numel(shape), (long) dtype.byteSize());
        if (bytes.byteSize() != need) {
            throw new TesseraException("expected " + need + " bytes for " + dtype + " " + Shapes.str(shape) + ", got " + bytes.byteSize());
        }
        Tensor t = empty(dtype, shape);
        MemorySegment.copy(bytes, 0, t.storage.segment(), 0, need);
        return t;
    }

    /**
     * A CPU tensor over {@code bytes} without copying (e.g. a memory-mapped safetensors entry).
     * The tensor does not own the memory: it stays valid as long as the mapping does.
     */
    public static Tensor wrap(DType dtype, int[] shape, MemorySegment bytes) {
        long need = Math.multiplyExact(Shapes.numel(shape), (long) dtype.byteSize());
        if (bytes.byteSize() != need) {
            throw new TesseraException("expected " + need + " bytes for " + dtype + " " + Shapes.str(shape) + ", got " + bytes.byteSize());
        }
        int[] s = shape.clone();
        return new Tensor(new Storage(Device.CPU, bytes, need, null), dtype, s, Shapes.contiguousStrides(s), 0);
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

    Node gradFn() {
        return gradFn;
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
            grad = Scope.unowned(() -> g.cast(dtype).contiguousCopy());
        } else {
            grad.addInPlace(g, 1f);
        }
    }

    /** The same data, cut from the tape. */
    public Tensor detach() {
        return new Tensor(storage, dtype, shape, strides, offset);
    }

    private Tensor record(String op, Node.BackwardRule rule, Tensor... inputs) {
        if (!Autograd.isGradEnabled()) {
            return this;
        }
        for (Tensor in : inputs) {
            if (in != null && in.requiresGrad) {
                this.requiresGrad = true;
                this.gradFn = new Node(op, rule, inputs);
                return this;
            }
        }
        return this;
    }

    /** Records a node even when no input requires grad (gradient checkpointing). */
    Tensor recordAlways(String op, Node.BackwardRule rule, Tensor... inputs) {
        this.requiresGrad = true;
        this.gradFn = new Node(op, rule, inputs);
        return this;
    }


    // ---------------------------------------------------------------- memory

    /** Returns this tensor's storage to the allocator now (all views of it become unusable). */
    public void release() {
        storage.release();
    }

    /** Copy to {@code target} (returns this when already there). */
    public Tensor to(Device target) {
        if (target.equals(device())) {
            return this;
        }
        Tensor src = contiguous();
        Tensor out = empty(dtype, target, shape);
        // Cross-device copies go through the non-CPU backend, which knows both memories.
        Backend b = target.isCpu() ? src.backend() : out.backend();
        b.copy(src, out);
        return out.record("to", g -> new Tensor[] {g.to(src.device())}, this);
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

    // ---------------------------------------------------------------- views

    private Tensor view(int[] newShape, long[] newStrides, long newOffset) {
        return new Tensor(storage, dtype, newShape, newStrides, newOffset);
    }

    /** Same data with a new shape (one size may be -1); a view when the strides allow, else a copy. */
    public Tensor reshape(int... newShape) {
        int[] target = inferShape(newShape);
        long[] viewStrides = viewStrides(target);
        if (viewStrides == null) {
            return contiguous().reshape(target);
        }
        int[] inShape = shape;
        return view(target, viewStrides, offset).record("reshape", g -> new Tensor[] {g.reshape(inShape)}, this);
    }

    private int[] inferShape(int[] newShape) {
        int[] target = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < target.length; i++) {
            if (target[i] == -1) {
                if (infer >= 0) {
                    throw new TesseraException("reshape: only one dimension can be -1, got " + Shapes.str(newShape));
                }
                infer = i;
            } else if (target[i] < 0) {
                throw new TesseraException("reshape: invalid size in " + Shapes.str(newShape));
            } else {
                known *= target[i];
            }
        }
        long n = numel();
        if (infer >= 0) {
            if (known == 0 || n % known != 0) {
                throw new TesseraException("reshape: cannot view " + Shapes.str(shape) + " as " + Shapes.str(newShape));
            }
            target[infer] = (int) (n / known);
        } else if (known != n) {
            throw new TesseraException("reshape: cannot view " + Shapes.str(shape) + " (" + n + " elements) as " + Shapes.str(newShape));
        }
        return target;
    }

    /** Strides giving {@code target} over the same memory, or null when a copy is needed (PyTorch's computeStride). */
    private long[] viewStrides(int[] target) {
        long[] newStrides = new long[target.length];
        if (numel() == 0) {
            return Shapes.contiguousStrides(target);
        }
        int viewD = target.length - 1;
        long chunkBase = strides.length == 0 ? 1 : strides[strides.length - 1];
        long tensorNumel = 1;
        long viewNumel = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            tensorNumel *= shape[d];
            if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensorNumel * chunkBase)) {
                while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] == 1)) {
                    newStrides[viewD] = viewNumel * chunkBase;
                    viewNumel *= target[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) {
                    return null;
                }
                if (d > 0) {
                    chunkBase = strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        if (viewD != -1) {
            // remaining target dims must be 1
            for (; viewD >= 0; viewD--) {
                if (target[viewD] != 1) {
                    return null;
                }
                newStrides[viewD] = 1;
            }
        }
        return newStrides;
    }

    /** Swaps two dimensions (a view). */
    public Tensor transpose(int d0, int d1) {
        int a = Shapes.axis(d0, shape.length), b = Shapes.axis(d1, shape.length);
        int[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return view(s, st, offset).record("transpose", g -> new Tensor[] {g.transpose(a, b)}, this);
    }

    /** Transpose of a 2-D tensor. */
    public Tensor t() {
        if (shape.length != 2) {
            throw new TesseraException("t() needs a 2-D tensor, got " + Shapes.str(shape));
        }
        return transpose(0, 1);
    }

    /** Reorders dimensions (a view): result dim i is input dim order[i]. */
    public Tensor permute(int... order) {
        if (order.length != shape.length) {
            throw new TesseraException("permute: " + order.length + " dims given for a tensor of shape " + Shapes.str(shape));
        }
        int[] s = new int[order.length];
        long[] st = new long[order.length];
        int[] inverse = new int[order.length];
        boolean[] seen = new boolean[order.length];
        for (int i = 0; i < order.length; i++) {
            int d = Shapes.axis(order[i], shape.length);
            if (seen[d]) {
                throw new TesseraException("permute: repeated dimension in " + Arrays.toString(order));
            }
            seen[d] = true;
            s[i] = shape[d];
            st[i] = strides[d];
            inverse[d] = i;
        }
        return view(s, st, offset).record("permute", g -> new Tensor[] {g.permute(inverse)}, this);
    }

    /** Elements [start, start+length) along {@code dim} (a view). */
    public Tensor narrow(int dim, int start, int length) {
        int d = Shapes.axis(dim, shape.length);
        if (start < 0 || length < 0 || start + length > shape[d]) {
            throw new TesseraException("narrow: range [" + start + ", " + (start + length) + ") out of bounds for dim " + d
                    + " of shape " + Shapes.str(shape));
        }
        int[] s = shape.clone();
        s[d] = length;
        int[] inShape = shape;
        return view(s, strides.clone(), offset + start * strides[d]).record("narrow", g -> {
            Tensor full = zeros(g.dtype, g.device(), inShape);
            full.narrowNoGrad(d, start, length).copyFrom(g);
            return new Tensor[] {full};
        }, this);
    }

    private Tensor narrowNoGrad(int d, int start, int length) {
        int[] s = shape.clone();
        s[d] = length;
        return view(s, strides.clone(), offset + start * strides[d]);
    }

    /** Broadcasts to {@code target} (a view with stride 0 on expanded dims; -1 keeps a size). */
    public Tensor expand(int... target) {
        if (target.length < shape.length) {
            throw new TesseraException("expand: cannot expand " + Shapes.str(shape) + " to " + Shapes.str(target));
        }
        int lead = target.length - shape.length;
        int[] s = new int[target.length];
        long[] st = new long[target.length];
        for (int i = 0; i < target.length; i++) {
            int src = i - lead;
            int want = target[i];
            if (src < 0) {
                if (want < 0) {
                    throw new TesseraException("expand: -1 not allowed for new leading dims in " + Shapes.str(target));
                }
                s[i] = want;
                st[i] = 0;
            } else if (want == -1 || want == shape[src]) {
                s[i] = shape[src];
                st[i] = strides[src];
            } else if (shape[src] == 1) {
                s[i] = want;
                st[i] = 0;
            } else {
                throw new TesseraException("expand: cannot expand " + Shapes.str(shape) + " to " + Shapes.str(target));
            }
        }
        if (Arrays.equals(s, shape)) {
            return this;
        }
        int[] inShape = shape;
        return view(s, st, offset).record("expand", g -> new Tensor[] {g.sumTo(inShape)}, this);
    }

    /** Inserts a dimension of size 1 at {@code dim} (a view). */
    public Tensor unsqueeze(int dim) {
        int d = dim < 0 ? dim + shape.length + 1 : dim;
        if (d < 0 || d > shape.length) {
            throw new TesseraException("unsqueeze: dimension " + dim + " out of range for shape " + Shapes.str(shape));
        }
        int[] s = new int[shape.length + 1];
        long[] st = new long[shape.length + 1];
        for (int i = 0, j = 0; i < s.length; i++) {
            if (i == d) {
                s[i] = 1;
                st[i] = j < shape.length ? strides[j] * shape[j] : 1;
            } else {
                s[i] = shape[j];
                st[i] = strides[j];
                j++;
            }
        }
        int[] inShape = shape;
        return view(s, st, offset).record("unsqueeze", g -> new Tensor[] {g.reshape(inShape)}, this);
    }

    /** Removes dimension {@code dim}, which must have size 1 (a view). */
    public Tensor squeeze(int dim) {
        int d = Shapes.axis(dim, shape.length);
        if (shape[d] != 1) {
            throw new TesseraException("squeeze: dimension " + d + " of shape " + Shapes.str(shape) + " is not 1");
        }
        int[] s = new int[shape.length - 1];
        long[] st = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != d) {
                s[j] = shape[i];
                st[j] = strides[i];
                j++;
            }
        }
        int[] inShape = shape;
        return view(s, st, offset).record("squeeze", g -> new Tensor[] {g.reshape(inShape)}, this);
    }

    /** This tensor if already contiguous, else a contiguous copy. */
    public Tensor contiguous() {
        if (isContiguous()) {
            return this;
        }
        return contiguousCopy().record("contiguous", g -> new Tensor[] {g}, this);
    }

    private Tensor contiguousCopy() {
        Tensor out = empty(dtype, device(), shape);
        backend().copy(this, out);
        return out;
    }

    /** A contiguous copy that is part of the tape (torch's clone). */
    public Tensor copy() {
        return contiguousCopy().record("clone", g -> new Tensor[] {g}, this);
    }

    /** Converts to {@code target} dtype (round to nearest even for BF16/F16). */
    public Tensor cast(DType target) {
        if (target == dtype) {
            return this;
        }
        Tensor out = empty(target, device(), shape);
        backend().copy(this, out);
        DType from = dtype;
        if (!target.isFloating() || !from.isFloating()) {
            return out;
        }
        return out.record("cast", g -> new Tensor[] {g.cast(from)}, this);
    }

    // ---------------------------------------------------------------- in-place (no tape)

    private void checkInPlace(String op) {
        if (Autograd.isGradEnabled() && requiresGrad && gradFn == null) {
            throw new TesseraException(op + ": a leaf tensor that requires grad cannot be modified in place outside Autograd.noGrad()");
        }
    }

    /** Copies {@code src} (broadcast to this shape, any dtype) into this tensor's elements. */
    public Tensor copyFrom(Tensor src) {
        checkInPlace("copyFrom");
        Tensor s = src.expandTo(shape);
        if (!s.device().equals(device())) {
            s = s.contiguous().to(device());
        }
        backend().copy(s, this);
        return this;
    }

    /** Sets every element to {@code value}. */
    public Tensor fill(double value) {
        checkInPlace("fill");
        if (isContiguous()) {
            backend().fill(this, value);
        } else {
            copyFrom(full(value, dtype, device()));
        }
        return this;
    }

    /** this += alpha * other (broadcast), in place. */
    public Tensor addInPlace(Tensor other, float alpha) {
        checkInPlace("addInPlace");
        try (var ng = Autograd.noGrad()) {
            Tensor o = alpha == 1f ? other : other.mul(alpha);
            if (isContiguous() && dtype == DType.F32) {
                backend().binary(BinaryOp.ADD, this, o.expandTo(shape), this);
            } else {
                copyFrom(this.add(o));
            }
        }
        return this;
    }

    /** this *= factor, in place. */
    public Tensor mulInPlace(float factor) {
        checkInPlace("mulInPlace");
        try (var ng = Autograd.noGrad()) {
            if (isContiguous() && dtype == DType.F32) {
                backend().unary(UnaryOp.MUL_SCALAR, this, this, factor, 0);
            } else {
                copyFrom(this.mul(factor));
            }
        }
        return this;
    }

    // ---------------------------------------------------------------- elementwise

    /** BF16 or F16: a storage width that products widen to F32 (frozen weights keep it). */
    private boolean isFloating16() {
        return dtype == DType.BF16 || dtype == DType.F16;
    }

    private void requireFloat(String op) {
        if (dtype != DType.F32) {
            throw new TesseraException(op + " computes in F32, got a " + dtype + " tensor; cast(DType.F32) first");
        }
    }

    private Tensor expandTo(int[] target) {
        return Arrays.equals(shape, target) ? this : expand(target);
    }

    /** Reduces a broadcast gradient back to {@code target}'s shape by summing the broadcast dims. */
    Tensor sumTo(int[] target) {
        if (Arrays.equals(shape, target)) {
            return this;
        }
        Tensor g = this;
        int lead = shape.length - target.length;
        for (int i = 0; i < lead; i++) {
            g = g.sum(0, false);
        }
        for (int i = 0; i < target.length; i++) {
            if (target[i] == 1 && g.shape[i] != 1) {
                g = g.sum(i, true);
            }
        }
        return g;
    }

    private Tensor unary(UnaryOp op, String name, float p1, float p2) {
        requireFloat(name);
        Tensor x = contiguous();
        Tensor out = empty(DType.F32, device(), shape);
        backend().unary(op, x, out, p1, p2);
        return out.record(name, g -> {
            Tensor dx = empty(DType.F32, g.device(), x.shape);
            x.backend().unaryBackward(op, x, g.contiguous(), dx, p1, p2);
            return new Tensor[] {dx};
        }, x);
    }

    public Tensor neg() {
        return unary(UnaryOp.NEG, "neg", 0, 0);
    }

    public Tensor exp() {
        return unary(UnaryOp.EXP, "exp", 0, 0);
    }

    public Tensor log() {
        return unary(UnaryOp.LOG, "log", 0, 0);
    }

    public Tensor sqrt() {
        return unary(UnaryOp.SQRT, "sqrt", 0, 0);
    }

    public Tensor rsqrt() {
        return unary(UnaryOp.RSQRT, "rsqrt", 0, 0);
    }

    public Tensor tanh() {
        return unary(UnaryOp.TANH, "tanh", 0, 0);
    }

    public Tensor abs() {
        return unary(UnaryOp.ABS, "abs", 0, 0);
    }

    public Tensor sigmoid() {
        return unary(UnaryOp.SIGMOID, "sigmoid", 0, 0);
    }

    public Tensor relu() {
        return unary(UnaryOp.RELU, "relu", 0, 0);
    }

    /** GELU with the tanh approximation (GPT-2's gelu_new). */
    public Tensor gelu() {
        return unary(UnaryOp.GELU_TANH, "gelu", 0, 0);
    }

    /** x * sigmoid(x). */
    public Tensor silu() {
        return unary(UnaryOp.SILU, "silu", 0, 0);
    }

    /** x ^ exponent. */
    public Tensor pow(float exponent) {
        return unary(UnaryOp.POW_SCALAR, "pow", exponent, 0);
    }

    /** Limits elements to [min, max]; the gradient flows where the input is inside the range. */
    public Tensor clamp(float min, float max) {
        return unary(UnaryOp.CLAMP, "clamp", min, max);
    }

    public Tensor add(float s) {
        return unary(UnaryOp.ADD_SCALAR, "add", s, 0);
    }

    public Tensor sub(float s) {
        return add(-s);
    }

    public Tensor mul(float s) {
        return unary(UnaryOp.MUL_SCALAR, "mul", s, 0);
    }

    public Tensor div(float s) {
        return mul(1f / s);
    }

    private Tensor binary(BinaryOp op, Tensor other) {
        int[] outShape = Shapes.broadcast(shape, other.shape);
        boolean comparison = op.ordinal() >= BinaryOp.EQ.ordinal();
        if (!comparison) {
            requireFloat(op.name().toLowerCase());
            other.requireFloat(op.name().toLowerCase());
        } else if (dtype != other.dtype) {
            throw new TesseraException(op.name().toLowerCase() + ": dtypes differ (" + dtype + " vs " + other.dtype + ")");
        }
        Tensor out = empty(comparison ? DType.BOOL : DType.F32, device(), outShape);
        Tensor a = this, b = other;
        backend().binary(op, a.expandTo(outShape), b.expandTo(outShape), out);
        if (comparison) {
            return out;
        }
        return out.record(op.name().toLowerCase(), g -> binaryBackward(op, a, b, out, g), a, b);
    }

    private static Tensor[] binaryBackward(BinaryOp op, Tensor a, Tensor b, Tensor out, Tensor g) {
        Node node = out.gradFn;
        boolean needA = node.needs(0), needB = node.needs(1);
        Tensor ga = null, gb = null;
        switch (op) {
            case ADD -> {
                ga = needA ? g : null;
                gb = needB ? g : null;
            }
            case SUB -> {
                ga = needA ? g : null;
                gb = needB ? g.neg() : null;
            }
            case MUL -> {
                ga = needA ? g.mul(b) : null;
                gb = needB ? g.mul(a) : null;
            }
            case DIV -> {
                ga = needA ? g.div(b) : null;
                gb = needB ? g.mul(out).div(b).neg() : null;
            }
            case POW -> {
                // d/da a^b = b a^(b-1); d/db a^b = a^b ln a
                ga = needA ? g.mul(b).mul(a.binary(BinaryOp.POW, b.sub(1f))) : null;
                gb = needB ? g.mul(out).mul(a.log()) : null;
            }
            case MAXIMUM, MINIMUM -> {
                Tensor pickA = op == BinaryOp.MAXIMUM ? a.ge(b) : a.le(b);
                Tensor zero = zeros(DType.F32, g.device());
                ga = needA ? where(pickA, g, zero) : null;
                gb = needB ? where(pickA, zero, g) : null;
            }
            default -> throw new IllegalStateException(op.name());
        }
        return new Tensor[] {ga == null ? null : ga.sumTo(a.shape), gb == null ? null : gb.sumTo(b.shape)};
    }

    public Tensor add(Tensor o) {
        return binary(BinaryOp.ADD, o);
    }

    public Tensor sub(Tensor o) {
        return binary(BinaryOp.SUB, o);
    }

    public Tensor mul(Tensor o) {
        return binary(BinaryOp.MUL, o);
    }

    public Tensor div(Tensor o) {
        return binary(BinaryOp.DIV, o);
    }

    /** Elementwise a ^ b. */
    public Tensor pow(Tensor exponent) {
        return binary(BinaryOp.POW, exponent);
    }

    public Tensor maximum(Tensor o) {
        return binary(BinaryOp.MAXIMUM, o);
    }

    public Tensor minimum(Tensor o) {
        return binary(BinaryOp.MINIMUM, o);
    }

    public Tensor eq(Tensor o) {
        return binary(BinaryOp.EQ, o);
    }

    public Tensor ne(Tensor o) {
        return binary(BinaryOp.NE, o);
    }

    public Tensor lt(Tensor o) {
        return binary(BinaryOp.LT, o);
    }

    public Tensor le(Tensor o) {
        return binary(BinaryOp.LE, o);
    }

    public Tensor gt(Tensor o) {
        return binary(BinaryOp.GT, o);
    }

    public Tensor ge(Tensor o) {
        return binary(BinaryOp.GE, o);
    }

    private Tensor scalarLike(double v) {
        return full(v, dtype, device());
    }

    public Tensor eq(double v) {
        return eq(scalarLike(v));
    }

    public Tensor ne(double v) {
        return ne(scalarLike(v));
    }

    public Tensor lt(double v) {
        return lt(scalarLike(v));
    }

    public Tensor le(double v) {
        return le(scalarLike(v));
    }

    public Tensor gt(double v) {
        return gt(scalarLike(v));
    }

    public Tensor ge(double v) {
        return ge(scalarLike(v));
    }

    /** cond ? a : b elementwise, broadcasting all three; cond must be BOOL. */
    public static Tensor where(Tensor cond, Tensor a, Tensor b) {
        if (cond.dtype != DType.BOOL) {
            throw new TesseraException("where: condition must be BOOL, got " + cond.dtype);
        }
        a.requireFloat("where");
        b.requireFloat("where");
        int[] outShape = Shapes.broadcast(Shapes.broadcast(cond.shape, a.shape), b.shape);
        Tensor out = empty(DType.F32, a.device(), outShape);
        a.backend().where(cond.expandTo(outShape), a.expandTo(outShape), b.expandTo(outShape), out);
        return out.record("where", g -> {
            Node node = out.gradFn;
            Tensor zero = zeros(DType.F32, g.device());
            return new Tensor[] {null,
                node.needs(1) ? where(cond, g, zero).sumTo(a.shape) : null,
                node.needs(2) ? where(cond, zero, g).sumTo(b.shape) : null};
        }, null, a, b);
    }

    /** Elements where {@code mask} is true replaced by {@code value}. */
    public Tensor maskedFill(Tensor mask, float value) {
        return where(mask, full(value, DType.F32, device()), this);
    }

    // ---------------------------------------------------------------- reductions

    /** Sum of all elements (0-dim). */
    public Tensor sum() {
        Tensor flat = reshape(-1);
        return flat.sum(0, false);
    }

    public Tensor mean() {
        return sum().div((float) numel());
    }

    private Tensor reduceDim(ReduceOp op, int dim, boolean keepDim) {
        requireFloat(op.name().toLowerCase());
        int d = Shapes.axis(dim, Math.max(shape.length, 1));
        if (shape.length == 0) {
            return this;
        }
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) {
            outer *= shape[i];
        }
        for (int i = d + 1; i < shape.length; i++) {
            inner *= shape[i];
        }
        int n = shape[d];
        if (n == 0 && op != ReduceOp.SUM) {
            throw new TesseraException(op.name().toLowerCase() + " over an empty dimension of shape " + Shapes.str(shape));
        }
        int[] kept = shape.clone();
        kept[d] = 1;
        Tensor x = contiguous();
        Tensor out = empty(op == ReduceOp.ARGMAX ? DType.I64 : DType.F32, device(), kept);
        backend().reduce(op, x, outer, n, inner, out);
        int[] inShape = shape;
        Tensor result = out;
        if (op == ReduceOp.SUM) {
            result = out.record("sum", g -> new Tensor[] {g.expand(inShape)}, x);
        } else if (op == ReduceOp.MAX || op == ReduceOp.MIN) {
            result = out.record(op.name().toLowerCase(), g -> {
                // gradient flows to the positions equal to the extreme value (ties share it, as torch.amax)
                Tensor hit = x.eq(out.detach().expand(inShape));
                Tensor count = where(hit, ones(), zeros()).sum(d, true);
                return new Tensor[] {where(hit, g.div(count).expand(inShape), zeros())};
            }, x);
        }
        return keepDim ? result : result.squeeze(d);
    }

    /** Sum over {@code dim}. */
    public Tensor sum(int dim, boolean keepDim) {
        return reduceDim(ReduceOp.SUM, dim, keepDim);
    }

    /** Sum over several dims. */
    public Tensor sum(int[] dims, boolean keepDim) {
        int[] sorted = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            sorted[i] = Shapes.axis(dims[i], shape.length);
        }
        Arrays.sort(sorted);
        Tensor t = this;
        for (int i = sorted.length - 1; i >= 0; i--) {
            t = t.sum(sorted[i], keepDim);
        }
        return t;
    }

    public Tensor mean(int dim, boolean keepDim) {
        return sum(dim, keepDim).div((float) size(dim));
    }

    /** Largest value over {@code dim}. */
    public Tensor max(int dim, boolean keepDim) {
        return reduceDim(ReduceOp.MAX, dim, keepDim);
    }

    /** Smallest value over {@code dim}. */
    public Tensor min(int dim, boolean keepDim) {
        return reduceDim(ReduceOp.MIN, dim, keepDim);
    }

    /** Index (I64) of the first largest value over {@code dim}. */
    public Tensor argmax(int dim, boolean keepDim) {
        return reduceDim(ReduceOp.ARGMAX, dim, keepDim);
    }

    // ---------------------------------------------------------------- linear algebra

    /**
     * Matrix product with PyTorch's rules: 1-D operands are promoted, leading (batch) dims
     * broadcast. Transposed views are passed to GEMM as transposes, without copies. This is F32;
     * {@code other} may also be a BF16/F16 tensor that needs no gradient (a frozen weight): it is
     * widened to F32 strip by strip inside the product, never whole.
     */
    public Tensor matmul(Tensor other) {
        requireFloat("matmul");
        if (other.dtype != DType.F32 && !(other.isFloating16() && !other.requiresGrad())) {
            other.requireFloat("matmul");
        }
        if (shape.length == 0 || other.shape.length == 0) {
            throw new TesseraException("matmul: both operands need at least one dimension, got "
                    + Shapes.str(shape) + " and " + Shapes.str(other.shape));
        }
        if (shape.length == 1) {
            return unsqueeze(0).matmul(other).squeeze(-2);
        }
        if (other.shape.length == 1) {
            return matmul(other.unsqueeze(1)).squeeze(-1);
        }
        if (Autocast.current() != null) {
            Tensor b = other.dtype == Autocast.current() ? other : Autocast.round(other);
            return Autocast.round(Matmul.forward(Autocast.round(this), b));
        }
        return Matmul.forward(this, other);
    }

    // ---------------------------------------------------------------- neural-network ops

    /** Softmax over {@code dim} (fused). */
    public Tensor softmax(int dim) {
        return softmaxImpl(dim, false);
    }

    /** log(softmax) over {@code dim}, computed stably (fused). */
    public Tensor logSoftmax(int dim) {
        return softmaxImpl(dim, true);
    }

    private Tensor softmaxImpl(int dim, boolean log) {
        requireFloat(log ? "logSoftmax" : "softmax");
        int d = Shapes.axis(dim, shape.length);
        if (d != shape.length - 1) {
            return transpose(d, -1).softmaxImpl(-1, log).transpose(d, -1);
        }
        Tensor x = contiguous();
        int n = shape.length == 0 ? 1 : shape[shape.length - 1];
        int rows = n == 0 ? 0 : (int) (numel() / n);
        Tensor out = empty(DType.F32, device(), shape);
        backend().softmax(x, out, rows, n, log);
        return out.record(log ? "log_softmax" : "softmax", g -> {
            Tensor dx = empty(DType.F32, g.device(), out.shape);
            out.backend().softmaxBackward(out, g.contiguous(), dx, rows, n, log);
            return new Tensor[] {dx};
        }, x);
    }

    /** Layer norm over the last dimension; weight and bias [C] may be null. */
    public Tensor layerNorm(Tensor weight, Tensor bias, float eps) {
        return Norms.layerNorm(this, weight, bias, eps);
    }

    /** RMS norm over the last dimension (Llama's, computed in F32): x * rsqrt(mean(x²) + eps) * weight. */
    public Tensor rmsNorm(Tensor weight, float eps) {
        return Norms.rmsNorm(this, weight, eps);
    }

    /** Mean cross entropy of logits [N, V] against I64 targets [N], ignoring targets equal to -100. */
    public Tensor crossEntropy(Tensor targets) {
        return crossEntropy(targets, -100);
    }

    /** Mean cross entropy over the targets not equal to {@code ignoreIndex} (NaN when all are ignored, as PyTorch). */
    public Tensor crossEntropy(Tensor targets, long ignoreIndex) {
        return Losses.crossEntropy(this, targets, ignoreIndex);
    }

    /**
     * Mean cross entropy of the logits {@code this [N, C] · weightᵀ} ({@code weight [V, C]}, F32 or
     * a frozen BF16/F16) against I64 targets [N], ignoring -100: the same number as
     * {@code matmul(weight.t()).crossEntropy(targets)}, computed a chunk of rows at a time so the
     * {@code [N, V]} logits and their gradient never exist whole (backward recomputes them).
     */
    public Tensor linearCrossEntropy(Tensor weight, Tensor targets) {
        requireFloat("linearCrossEntropy");
        if (weight.dtype != DType.F32 && !(weight.isFloating16() && !weight.requiresGrad())) {
            weight.requireFloat("linearCrossEntropy");
        }
        return LinearCrossEntropy.forward(this, weight, targets, -100, 0);
    }

    /** Rows of this [V, C] weight at I64 {@code ids} of any shape: result [..., C]. */
    public Tensor embedding(Tensor ids) {
        return Indexing.embedding(this, ids);
    }

    /** Inverted dropout: zeroes elements with probability p and scales the rest by 1/(1-p). */
    public Tensor dropout(float p, Rng rng) {
        if (p < 0 || p >= 1) {
            if (p == 1) {
                return mul(0f);
            }
            throw new TesseraException("dropout probability must be in [0, 1), got " + p);
        }
        if (p == 0) {
            return this;
        }
        Tensor mask = rng.dropoutMask(shape, p, device());
        return mul(mask);
    }

    // ---------------------------------------------------------------- joining and indexing

    /** Joins tensors along {@code dim}. */
    public static Tensor cat(int dim, Tensor... parts) {
        return Indexing.cat(dim, parts);
    }

    /** Stacks equal-shaped tensors along a new dimension {@code dim}. */
    public static Tensor stack(int dim, Tensor... parts) {
        Tensor[] un = new Tensor[parts.length];
        for (int i = 0; i < parts.length; i++) {
            un[i] = parts[i].unsqueeze(dim);
        }
        return cat(dim, un);
    }

    /** Splits along {@code dim} into pieces of the given sizes (views). */
    public Tensor[] split(int dim, int... sizes) {
        int d = Shapes.axis(dim, shape.length);
        long total = 0;
        for (int s : sizes) {
            total += s;
        }
        if (total != shape[d]) {
            throw new TesseraException("split: sizes " + Arrays.toString(sizes) + " do not add up to " + shape[d]
                    + " (dim " + d + " of " + Shapes.str(shape) + ")");
        }
        Tensor[] out = new Tensor[sizes.length];
        int start = 0;
        for (int i = 0; i < sizes.length; i++) {
            out[i] = narrow(d, start, sizes[i]);
            start += sizes[i];
        }
        return out;
    }

    /** Entries at I64 {@code index} [K] along {@code dim}. */
    public Tensor indexSelect(int dim, Tensor index) {
        return Indexing.indexSelect(this, dim, index);
    }

    /** torch.gather: out[i][j][k] = this[i][index[i][j][k]][k] for dim 1, and so on. */
    public Tensor gather(int dim, Tensor index) {
        return Indexing.gather(this, dim, index);
    }

    // package-private factory for sibling op files
    static Tensor recordResult(Tensor out, String op, Node.BackwardRule rule, Tensor... inputs) {
        return out.record(op, rule, inputs);
    }

    Node node() {
        return gradFn;
    }
}
