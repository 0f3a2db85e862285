package dev.tessera.quant;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * What it takes to turn packed 4-bit codes back into numbers, as bitsandbytes' {@code QuantState}:
 * the 4-bit type and its code table, the blocksize, the original shape and dtype, and one absmax
 * per block: float32 ({@code absmax}), or double-quantized ({@code doubleQuant}: 8-bit codes of
 * {@code absmax - offset} with one float32 absmax per 256 of them). Exactly one of the two is set.
 * Arrays are owned by the record, not copied.
 *
 * <p>{@link #toTensors} / {@link #fromTensors} use bitsandbytes' checkpoint keys, so a state
 * read from a bitsandbytes file is written back byte for byte:
 * <pre>{@code
 * Quantized4Bit q = Quantized4Bit.quantize(new float[64 * 128], new long[] {64, 128}, QuantType.NF4, 64, true);
 * Map<String, StoredTensor> saved = q.state().toTensors("model.layers.0.mlp.up_proj.weight");
 * // .absmax (U8), .quant_map, .nested_absmax, .nested_quant_map, .quant_state.bitsandbytes__nf4
 * QuantState back = QuantState.fromTensors("model.layers.0.mlp.up_proj.weight", saved);
 * }</pre>
 *
 * @param type NF4 or FP4
 * @param blocksize elements per absmax: a power of two in [32, 4096]
 * @param shape the quantized tensor's shape (row-major; [out, in] for a linear weight)
 * @param dtype the PyTorch name of the original dtype: "float32", "float16" or "bfloat16"
 * @param code the 16-entry table (bitsandbytes' {@code quant_map})
 * @param absmax one float32 per block, or null when double-quantized
 * @param doubleQuant the double-quantized absmax, or null
 */
public record QuantState(QuantType type, int blocksize, long[] shape, String dtype, float[] code,
                         float[] absmax, DoubleQuant doubleQuant) {

    static final Set<String> DTYPES = Set.of("float32", "float16", "bfloat16");

    /**
     * Double-quantized absmax: {@code absmax[i] = code[codes[i]] * absmax[i / blocksize] + offset}
     * in float32, where {@code offset} is the mean of the original absmax values.
     *
     * @param codes one 8-bit code per 4-bit block (bitsandbytes' {@code .weight.absmax}, U8)
     * @param absmax one float32 per {@code blocksize} codes ({@code .nested_absmax})
     * @param code the 256-entry map, normally {@link DynamicMap#signed()} ({@code .nested_quant_map})
     * @param blocksize codes per nested absmax, 256 in bitsandbytes
     * @param offset the float32 mean subtracted before quantizing ({@code nested_offset})
     * @param dtype the nested state's dtype name, "float32" in bitsandbytes
     */
    public record DoubleQuant(byte[] codes, float[] absmax, float[] code, int blocksize, float offset, String dtype) {
        public DoubleQuant {
            Objects.requireNonNull(codes, "codes");
            Objects.requireNonNull(dtype, "dtype");
            if (code.length != 256) {
                throw new IllegalArgumentException("nested quant map must have 256 values, got " + code.length);
            }
            if (blocksize < 1) {
                throw new IllegalArgumentException("nested blocksize must be positive, got " + blocksize);
            }
            long blocks = ((long) codes.length + blocksize - 1) / blocksize;
            if (absmax.length != blocks) {
                throw new IllegalArgumentException("nested absmax must have " + blocks + " values for "
                        + codes.length + " codes in blocks of " + blocksize + ", got " + absmax.length);
            }
        }

        /** Quantizes {@code absmax} as bitsandbytes' compress_statistics does (blocks of 256, signed map). */
        static DoubleQuant of(float[] absmax) {
            double sum = 0;
            for (float a : absmax) {
                sum += a;
            }
            float offset = (float) (sum / absmax.length);
            float[] centered = new float[absmax.length];
            for (int i = 0; i < centered.length; i++) {
                centered[i] = absmax[i] - offset;
            }
            float[] map = DynamicMap.signed();
            byte[] codes = new byte[absmax.length];
            float[] nested = new float[Blockwise8Bit.blocks(absmax.length, 256)];
            Blockwise8Bit.quantize(centered, map, 256, codes, nested);
            return new DoubleQuant(codes, nested, map, 256, offset, "float32");
        }

        /** The reconstructed float32 absmax values. */
        float[] dequantize() {
            float[] out = new float[codes.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = code[codes[i] & 0xFF] * absmax[i / blocksize] + offset;
            }
            return out;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof DoubleQuant d && Arrays.equals(codes, d.codes) && Arrays.equals(absmax, d.absmax)
                    && Arrays.equals(code, d.code) && blocksize == d.blocksize
                    && Float.floatToRawIntBits(offset) == Float.floatToRawIntBits(d.offset) && dtype.equals(d.dtype);
        }

        @Override
        public int hashCode() {
            return Objects.hash(Arrays.hashCode(codes), Arrays.hashCode(absmax), Arrays.hashCode(code),
                    blocksize, Float.floatToRawIntBits(offset), dtype);
        }

        @Override
        public String toString() {
            return "DoubleQuant[" + codes.length + " codes, " + absmax.length + " absmax, blocksize "
                    + blocksize + ", offset " + offset + "]";
        }
    }

    public QuantState {
        Objects.requireNonNull(type, "type");
        checkBlocksize(blocksize);
        long n = StoredTensor.numel(shape);
        if (!DTYPES.contains(dtype)) {
            throw new IllegalArgumentException("dtype must be one of float32, float16, bfloat16, got " + dtype);
        }
        if (code.length != 16) {
            throw new IllegalArgumentException("4-bit quant map must have 16 values, got " + code.length);
        }
        if ((absmax == null) == (doubleQuant == null)) {
            throw new IllegalArgumentException("a quant state has either float32 absmax or double-quantized absmax");
        }
        long blocks = (n + blocksize - 1) / blocksize;
        int stored = absmax != null ? absmax.length : doubleQuant.codes().length;
        if (stored != blocks) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " in blocks of " + blocksize
                    + " needs " + blocks + " absmax values, got " + stored);
        }
    }

    static void checkBlocksize(int blocksize) {
        if (blocksize < 32 || blocksize > 4096 || Integer.bitCount(blocksize) != 1) {
            throw new IllegalArgumentException("blocksize must be a power of two in [32, 4096], got " + blocksize);
        }
    }

    /** Number of quantized elements, the product of the shape. */
    public long numel() {
        return StoredTensor.numel(shape);
    }

    /** Number of blocks, one absmax each. */
    public int blocks() {
        return absmax != null ? absmax.length : doubleQuant.codes().length;
    }

    /** The per-block float32 absmax, reconstructed when double-quantized. */
    public float[] absmaxF32() {
        return absmax != null ? absmax : doubleQuant.dequantize();
    }

    /** The same state with another original dtype (the dtype that dequantization gives back). */
    public QuantState withDtype(String newDtype) {
        return new QuantState(type, blocksize, shape, newDtype, code, absmax, doubleQuant);
    }

    /**
     * The state as bitsandbytes stores it beside the packed weight {@code weightKey} (e.g.
     * "model.layers.0.self_attn.q_proj.weight"), in bitsandbytes' order: {@code .absmax},
     * {@code .quant_map}, and when nested {@code .nested_absmax}, {@code .nested_quant_map};
     * then {@code .quant_state.bitsandbytes__nf4} (or {@code __fp4}), the JSON of the rest.
     */
    public Map<String, StoredTensor> toTensors(String weightKey) {
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        if (doubleQuant == null) {
            out.put(weightKey + ".absmax", StoredTensor.f32(absmax, absmax.length));
        } else {
            out.put(weightKey + ".absmax", StoredTensor.u8(doubleQuant.codes().clone(), doubleQuant.codes().length));
        }
        out.put(weightKey + ".quant_map", StoredTensor.f32(code, 16));
        if (doubleQuant != null) {
            out.put(weightKey + ".nested_absmax", StoredTensor.f32(doubleQuant.absmax(), doubleQuant.absmax().length));
            out.put(weightKey + ".nested_quant_map", StoredTensor.f32(doubleQuant.code(), 256));
        }
        byte[] json = BnbJson.write(new BnbJson.Fields(type.bnbName(), blocksize, dtype, shape,
                doubleQuant == null ? null : doubleQuant.blocksize(),
                doubleQuant == null ? null : doubleQuant.dtype(),
                doubleQuant == null ? null : doubleQuant.offset()));
        out.put(weightKey + ".quant_state.bitsandbytes__" + type.bnbName(), StoredTensor.u8(json, json.length));
        return out;
    }

    /**
     * Reads the state stored beside the packed weight {@code weightKey} from {@code tensors}
     * (other keys are ignored). Errors name the offending key.
     */
    public static QuantState fromTensors(String weightKey, Map<String, StoredTensor> tensors) {
        String statePrefix = weightKey + ".quant_state.";
        List<String> stateKeys = new ArrayList<>();
        for (String k : tensors.keySet()) {
            if (k.startsWith(statePrefix)) {
                stateKeys.add(k);
            }
        }
        if (stateKeys.size() != 1) {
            throw new IllegalArgumentException(weightKey + ": expected exactly one " + statePrefix
                    + "bitsandbytes__nf4 or __fp4 tensor, found " + stateKeys);
        }
        String stateKey = stateKeys.get(0);
        String suffix = stateKey.substring(statePrefix.length());
        if (!suffix.equals("bitsandbytes__nf4") && !suffix.equals("bitsandbytes__fp4")) {
            throw new IllegalArgumentException(stateKey + ": expected a bitsandbytes__nf4 or bitsandbytes__fp4 key");
        }
        StoredTensor stateTensor = tensors.get(stateKey);
        requireDtype(stateKey, stateTensor, "U8");
        BnbJson.Fields f = BnbJson.read(stateTensor.data(), stateKey);
        QuantType type = QuantType.ofBnbName(f.quantType());
        if (!suffix.equals("bitsandbytes__" + f.quantType())) {
            throw new IllegalArgumentException(stateKey + ": key says " + suffix + " but quant_type is " + f.quantType());
        }
        float[] code = floats(tensors, weightKey + ".quant_map", 16);
        long n = StoredTensor.numel(f.shape());
        checkBlocksizeOf(stateKey, f.blocksize());
        long blocks = (n + f.blocksize() - 1) / f.blocksize();
        String absmaxKey = weightKey + ".absmax";
        if (!f.nested()) {
            if (tensors.containsKey(weightKey + ".nested_absmax")) {
                throw new IllegalArgumentException(weightKey + ".nested_absmax: present but " + stateKey
                        + " has no nested fields");
            }
            float[] absmax = floats(tensors, absmaxKey, blocks);
            return construct(stateKey, () -> new QuantState(type, f.blocksize(), f.shape(), f.dtype(), code, absmax, null));
        }
        StoredTensor absmaxTensor = require(tensors, absmaxKey);
        requireDtype(absmaxKey, absmaxTensor, "U8");
        requireCount(absmaxKey, absmaxTensor, blocks);
        if (f.nestedBlocksize() < 1) {
            throw new IllegalArgumentException(stateKey + ": nested_blocksize must be positive, got " + f.nestedBlocksize());
        }
        long nestedBlocks = (blocks + f.nestedBlocksize() - 1) / f.nestedBlocksize();
        float[] nestedAbsmax = floats(tensors, weightKey + ".nested_absmax", nestedBlocks);
        float[] nestedCode = floats(tensors, weightKey + ".nested_quant_map", 256);
        return construct(stateKey, () -> new QuantState(type, f.blocksize(), f.shape(), f.dtype(), code, null,
                new DoubleQuant(absmaxTensor.data().clone(), nestedAbsmax, nestedCode, f.nestedBlocksize(),
                        f.nestedOffset(), f.nestedDtype())));
    }

    /** Runs a constructor whose validation errors should name the state's key. */
    private static QuantState construct(String key, Supplier<QuantState> constructor) {
        try {
            return constructor.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
    }

    private static void checkBlocksizeOf(String key, int blocksize) {
        try {
            checkBlocksize(blocksize);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(key + ": " + e.getMessage(), e);
        }
    }

    private static StoredTensor require(Map<String, StoredTensor> tensors, String key) {
        StoredTensor t = tensors.get(key);
        if (t == null) {
            throw new IllegalArgumentException(key + ": missing");
        }
        return t;
    }

    private static void requireDtype(String key, StoredTensor t, String dtype) {
        if (!t.dtype().equals(dtype)) {
            throw new IllegalArgumentException(key + ": expected dtype " + dtype + ", got " + t.dtype());
        }
    }

    private static void requireCount(String key, StoredTensor t, long count) {
        if (t.numel() != count) {
            throw new IllegalArgumentException(key + ": expected " + count + " values, got " + t.numel()
                    + " (shape " + Arrays.toString(t.shape()) + ")");
        }
    }

    private static float[] floats(Map<String, StoredTensor> tensors, String key, long count) {
        StoredTensor t = require(tensors, key);
        requireDtype(key, t, "F32");
        requireCount(key, t, count);
        return t.toFloats();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof QuantState s && type == s.type && blocksize == s.blocksize
                && Arrays.equals(shape, s.shape) && dtype.equals(s.dtype) && Arrays.equals(code, s.code)
                && Arrays.equals(absmax, s.absmax) && Objects.equals(doubleQuant, s.doubleQuant);
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, blocksize, Arrays.hashCode(shape), dtype, Arrays.hashCode(code),
                Arrays.hashCode(absmax), doubleQuant);
    }

    @Override
    public String toString() {
        return "QuantState[" + type + ", blocksize " + blocksize + ", shape " + Arrays.toString(shape) + ", "
                + dtype + ", " + (doubleQuant == null ? "absmax f32" : doubleQuant) + "]";
    }
}
