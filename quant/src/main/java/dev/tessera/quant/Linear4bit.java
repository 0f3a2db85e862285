package dev.tessera.quant;

import dev.tessera.core.Autograd;
import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * bitsandbytes' {@code Linear4bit}: a linear layer {@code y = x · Wᵀ + b} whose weight
 * {@code [out, in]} is kept as packed NF4/FP4 codes and their {@link QuantState}; QLoRA's
 * frozen base layer (wrap it with LoRA like any other {@link LinearLayer}).
 *
 * <pre>{@code
 * Linear dense = new Linear(768, 3072, true, new Rng(0));
 * Linear4bit q = Linear4bit.quantize(dense, QuantType.NF4, 64, true, DType.F32);
 * Tensor x = new Rng(1).normal(0f, 1f, 2, 16, 768);
 * Tensor y = q.forward(x);     // [2, 16, 768] -> [2, 16, 3072]; W decoded tile by tile
 * Tensor w = q.weight();       // a dequantized F32 copy [3072, 768], not a parameter
 * }</pre>
 *
 * <p>Parameters, under PyTorch's names: {@code weight}, the packed codes as U8
 * {@code [(numel + 1) / 2, 1]} (bitsandbytes' {@code Params4bit}, which never requires grad),
 * and {@code bias}, F32 {@code [out]}, when there is one.
 *
 * <p>The product runs on the input's device through the backend's 4-bit product
 * ({@code Backend.matmul4bit}): W is decoded a tile at a time inside it and never materialised
 * in full precision. The backward product gives the input gradient the same way; no weight
 * gradient exists. The packed codes are the {@code weight} parameter, so {@code Module.to}
 * moves them; the decode tables follow on first use.
 *
 * <p>Compute dtype: F32, or BF16/F16 as bitsandbytes' {@code bnb_4bit_compute_dtype}: the input,
 * the dequantized weight and the product are rounded to that precision (products accumulate in
 * F32, as tensor cores do) and returned as F32; gradients pass through the roundings unchanged,
 * as under {@code dev.tessera.core.Autocast}. The bias is added in F32.
 */
public final class Linear4bit extends Module implements LinearLayer {
    private static final AtomicBoolean MERGE_WARNED = new AtomicBoolean();

    private final int in;
    private final int out;
    private final Tensor packed; // U8 [(n + 1) / 2, 1]
    private final Tensor bias;   // F32 [out] or null
    private final DType compute;
    private QuantState state;
    /** The decode tables and block scales on each device the layer has run on, with the packed codes there. */
    private final Map<Device, Packed4Bit> onDevice = new HashMap<>();

    /**
     * A layer over {@code weight} (shape [out, in]) and {@code bias} ([out] or null; kept as
     * the parameter itself when F32, its requiresGrad unchanged). The packed bytes are copied.
     */
    public Linear4bit(Quantized4Bit weight, Tensor bias, DType computeDtype) {
        this(weight.state(), () -> Tensor.fromBytes(DType.U8, new int[] {weight.packed().length, 1},
                MemorySegment.ofArray(weight.packed())), bias, computeDtype);
    }

    /**
     * A layer whose packed codes {@code packed} (U8, (numel + 1) / 2 of them, on any device) are
     * taken over as the {@code weight} parameter, shaped [(numel + 1) / 2, 1]; the bias is kept on
     * the codes' device.
     */
    Linear4bit(Tensor packed, QuantState state, Tensor bias, DType computeDtype) {
        this(state, () -> packed.reshape(packed.numel() == 0 ? 0 : (int) packed.numel(), 1), bias, computeDtype);
    }

    private Linear4bit(QuantState s, java.util.function.Supplier<Tensor> packedParameter, Tensor bias, DType computeDtype) {
        long[] shape = s.shape();
        if (shape.length != 2 || shape[0] < 1 || shape[1] < 1 || shape[0] > Integer.MAX_VALUE
                || shape[1] > Integer.MAX_VALUE) {
            throw new TesseraException("Linear4bit: the quantized weight must be 2-D [out, in], got shape "
                    + Arrays.toString(shape));
        }
        this.compute = checkCompute(computeDtype);
        this.out = (int) shape[0];
        this.in = (int) shape[1];
        if (bias != null && (bias.dim() != 1 || bias.size(0) != out)) {
            throw new TesseraException("Linear4bit: bias must be [" + out + "], got " + Arrays.toString(bias.shape()));
        }
        Tensor codes = Scope.unowned(packedParameter::get);
        if (codes.dtype() != DType.U8 || codes.numel() != (s.numel() + 1) / 2) {
            throw new TesseraException("Linear4bit: packed codes must be U8 of " + (s.numel() + 1) / 2 + " bytes, got "
                    + codes.dtype() + " " + Arrays.toString(codes.shape()));
        }
        this.packed = addParameter("weight", codes);
        Device home = codes.device();
        if (bias == null) {
            this.bias = null;
        } else {
            boolean trainable = bias.requiresGrad();
            Tensor b = bias;
            if (bias.dtype() != DType.F32 || !bias.device().equals(home)) {
                try (var ng = Autograd.noGrad()) {
                    b = Scope.unowned(() -> bias.to(home).cast(DType.F32).copy());
                }
            }
            this.bias = addParameter("bias", b);
            b.requiresGrad(trainable);
        }
        this.state = s;
    }

    /**
     * Quantizes {@code layer}'s weight ({@code [out, in]} sense, so a GPT-2 Conv1D is quantized
     * transposed, as transformers does) in blocks of {@code blocksize}, and takes over its bias.
     */
    public static Linear4bit quantize(LinearLayer layer, QuantType type, int blocksize, boolean doubleQuant,
                                      DType computeDtype) {
        checkCompute(computeDtype);
        if (!layer.weight().device().isCpu()) {
            // on the weight's device: the codes never travel, only the block statistics come to the host
            Tensor w = layer.weight();
            if (w.dim() != 2 || w.size(0) != layer.outFeatures() || w.size(1) != layer.inFeatures()) {
                throw new TesseraException("Linear4bit: layer weight " + Arrays.toString(w.shape()) + " is not [out, in] = ["
                        + layer.outFeatures() + ", " + layer.inFeatures() + "]");
            }
            BackendQuantize4Bit.Result r;
            try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
                r = BackendQuantize4Bit.quantize(w.cast(DType.F32).contiguous(), new long[] {w.size(0), w.size(1)}, type,
                        blocksize, doubleQuant);
            }
            return new Linear4bit(r.packed(), r.state(), layer.bias(), computeDtype);
        }
        Quantized4Bit q;
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            Tensor w = layer.weight().to(Device.CPU).cast(DType.F32).contiguous();
            if (w.dim() != 2 || w.size(0) != layer.outFeatures() || w.size(1) != layer.inFeatures()) {
                throw new TesseraException("Linear4bit: layer weight " + Arrays.toString(w.shape()) + " is not [out, in] = ["
                        + layer.outFeatures() + ", " + layer.inFeatures() + "]");
            }
            q = Quantized4Bit.quantize(w.dataSegment(), new long[] {w.size(0), w.size(1)}, type, blocksize, doubleQuant);
        }
        return new Linear4bit(q, layer.bias(), computeDtype);
    }

    private static DType checkCompute(DType d) {
        if (d != DType.F32 && d != DType.BF16 && d != DType.F16) {
            throw new TesseraException("Linear4bit: compute dtype must be F32, BF16 or F16, got " + d);
        }
        return d;
    }

    // ---------------------------------------------------------------- forward

    // x (..., in) -> (..., out)
    @Override
    public Tensor forward(Tensor x) {
        if (x.dim() == 0 || x.size(-1) != in) {
            throw new TesseraException("Linear4bit: input " + Arrays.toString(x.shape()) + " does not fit weight [out, in] = ["
                    + out + ", " + in + "]");
        }
        if (x.dtype() != DType.F32) {
            throw new TesseraException("Linear4bit computes in F32, got a " + x.dtype() + " input; cast(DType.F32) first");
        }
        Tensor y = tiledProduct(x);
        return bias == null ? y : y.add(bias.to(y.device()));
    }

    /**
     * x · Wᵀ on x's device through the backend's 4-bit product (W decoded tile by tile inside
     * it); records the input-gradient rule, dx = g · W, the same way.
     */
    private Tensor tiledProduct(Tensor x) {
        Tensor xc = x.contiguous();
        int[] xShape = xc.shape();
        int[] yShape = xShape.clone();
        yShape[yShape.length - 1] = out;
        int m = Math.toIntExact(xc.numel() / in);
        Packed4Bit w = packedOn(x.device());
        Backend backend = Backends.of(x.device());
        Tensor y = Tensor.empty(DType.F32, x.device(), yShape);
        try (var ng = Autograd.noGrad()) {
            Tensor xin = compute == DType.F32 ? xc : xc.cast(compute).cast(DType.F32);
            backend.matmul4bit(w, compute, false, xin, m, y);
            if (compute != DType.F32) {
                // the product rounded to the compute dtype, as a BF16/F16 GEMM returns it
                y = y.cast(compute).cast(DType.F32);
            }
        }
        return Autograd.record("linear4bit", y, g -> {
            // dx (m, in) = g (m, out) · W (out, in)
            Tensor gc = g.contiguous();
            Tensor dx = Tensor.empty(DType.F32, gc.device(), xShape);
            backend.matmul4bit(w, compute, true, gc, m, dx);
            return new Tensor[] {dx};
        }, xc);
    }

    /**
     * The slow reference: the whole weight dequantized (rounded to the compute dtype), then an
     * ordinary differentiable matmul. For tests; forward must agree with it.
     */
    Tensor referenceForward(Tensor x) {
        Tensor w = dequantized(compute).to(x.device());
        Tensor y;
        if (compute == DType.F32) {
            y = x.matmul(w.t());
        } else {
            y = x.cast(compute).cast(DType.F32).matmul(w.t()).cast(compute).cast(DType.F32);
        }
        return bias == null ? y : y.add(bias.to(y.device()));
    }

    /**
     * The 4-bit weight on {@code device} for the backend's ops: the packed parameter, which must
     * be there already ({@code Module.to}), with the code table and block scales copied there once.
     */
    private synchronized Packed4Bit packedOn(Device device) {
        if (!packed.device().equals(device)) {
            throw new TesseraException("Linear4bit: the 4-bit weight is on " + packed.device() + ", the input on "
                    + device + "; move the model with Module.to(" + device + ")");
        }
        Packed4Bit w = onDevice.get(device);
        if (w != null) {
            return w;
        }
        QuantState s = state;
        w = Scope.unowned(() -> {
            Tensor code = floats(s.code(), device);
            QuantState.DoubleQuant dq = s.doubleQuant();
            if (dq == null) {
                return Packed4Bit.plain(packed, code, s.blocksize(), floats(s.absmax(), device), out, in);
            }
            Tensor codes = Tensor.fromBytes(DType.U8, new int[] {dq.codes().length}, MemorySegment.ofArray(dq.codes()))
                    .to(device);
            return Packed4Bit.doubleQuantized(packed, code, s.blocksize(), codes, floats(dq.absmax(), device),
                    floats(dq.code(), device), dq.blocksize(), dq.offset(), out, in);
        });
        onDevice.put(device, w);
        return w;
    }

    private static Tensor floats(float[] values, Device device) {
        return Tensor.of(values, values.length).to(device);
    }

    /** Frees the decode tables made for each device (never the packed parameter). */
    private void releaseTables() {
        for (Packed4Bit w : onDevice.values()) {
            for (Tensor t : new Tensor[] {w.code(), w.absmax(), w.absmaxCodes(), w.nestedAbsmax(), w.nestedCode()}) {
                if (t != null) {
                    t.release();
                }
            }
        }
        onDevice.clear();
    }

    /** The weight [out, in] in F32 on the weight's device, rounded to {@code rounding}'s precision; owned by the current scope. */
    private Tensor dequantized(DType rounding) {
        Tensor w = Tensor.empty(DType.F32, packed.device(), out, in);
        Backends.of(packed.device()).dequantize4bit(packedOn(packed.device()), rounding, w);
        return w;
    }

    // ---------------------------------------------------------------- LinearLayer

    @Override
    public int inFeatures() {
        return in;
    }

    @Override
    public int outFeatures() {
        return out;
    }

    /**
     * A dequantized copy of the weight, F32 {@code [out, in]} (exactly {@code code[q] * absmax},
     * not rounded to the compute dtype): a new tensor owned by the current scope on every call,
     * not a parameter, so changing it does not change the layer (see {@link #addToWeight}).
     */
    @Override
    public Tensor weight() {
        return dequantized(DType.F32);
    }

    @Override
    public Tensor bias() {
        return bias;
    }

    // ---------------------------------------------------------------- 4-bit state

    /** Two 4-bit values per byte of the packed weight (as PEFT counts a {@code Params4bit}); other parameters their elements. */
    @Override
    public long valueCount(Tensor parameter) {
        return parameter == packed ? 2 * packed.numel() : parameter.numel();
    }

    /** The packed codes, the U8 parameter {@code weight} of shape [(numel + 1) / 2, 1]. */
    public Tensor packedWeight() {
        return packed;
    }

    /** What it takes to decode {@link #packedWeight()}. */
    public QuantState quantState() {
        return state;
    }

    /** A copy of the packed codes with their state. */
    public Quantized4Bit quantized() {
        return new Quantized4Bit(packed.to(Device.CPU).dataSegment().toArray(ValueLayout.JAVA_BYTE), state);
    }

    /** F32, BF16 or F16. */
    public DType computeDtype() {
        return compute;
    }

    /** Bytes the 4-bit weight takes: codes, absmax and nested statistics (see {@link QuantMemory}). */
    public long weightBytes() {
        return QuantMemory.storageBytes(state.numel(), state.blocksize(), state.doubleQuant() != null);
    }

    /**
     * Adds {@code deltaOutIn} ({@code [out, in]}, e.g. a LoRA update {@code scaling · B·A}; LoRA's
     * merge and unmerge come through here) to the weight: dequantize, add, requantize with the same type, blocksize and double
     * quantization, as PEFT merges into a bitsandbytes layer. Rounding makes the result differ
     * slightly from an unmerged layer, so the first merge in a process warns on stderr, as PEFT
     * does. The packed parameter is updated in place; its shape does not change.
     */
    @Override
    public void addToWeight(Tensor deltaOutIn) {
        if (deltaOutIn.dim() != 2 || deltaOutIn.size(0) != out || deltaOutIn.size(1) != in) {
            throw new TesseraException("Linear4bit: delta " + Arrays.toString(deltaOutIn.shape()) + " does not fit weight [out, in] = ["
                    + out + ", " + in + "]");
        }
        if (MERGE_WARNED.compareAndSet(false, true)) {
            System.err.println("Merge lora module to 4-bit linear may get different generations due to rounding errors.");
        }
        Quantized4Bit q;
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            Tensor w = weight().add(deltaOutIn.to(Device.CPU).cast(DType.F32)).contiguous();
            q = Quantized4Bit.quantize(w.dataSegment(), state.shape(), state.type(), state.blocksize(),
                    state.doubleQuant() != null);
        }
        try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
            packed.copyFrom(Tensor.fromBytes(DType.U8, packed.shape(), MemorySegment.ofArray(q.packed())).to(packed.device()));
        }
        state = q.state().withDtype(state.dtype());
        releaseTables();
    }

    @Override
    protected String extraRepr() {
        return "in=" + in + ", out=" + out + ", bias=" + (bias != null) + ", " + state.type().bnbName()
                + ", blocksize=" + state.blocksize() + ", double_quant=" + (state.doubleQuant() != null)
                + ", compute=" + compute;
    }
}
