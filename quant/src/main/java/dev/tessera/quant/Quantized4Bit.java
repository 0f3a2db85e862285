package dev.tessera.quant;

import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.stream.LongStream;

/**
 * A tensor quantized to 4 bits as bitsandbytes does it (NF4 or FP4, blockwise absmax, optional
 * double quantization): {@code packed} holds two codes per byte, the first element in the high
 * nibble, and {@code state} what it takes to decode them.
 *
 * <pre>{@code
 * float[] w = new float[256 * 512];                  // a [256, 512] weight, row-major
 * Quantized4Bit q = Quantized4Bit.quantize(w, new long[] {256, 512}, QuantType.NF4, 64, true);
 * float[] back = q.dequantize();                     // mean |w - back| ~ 0.073 for N(0, 1)
 * Map<String, StoredTensor> file = q.toTensors("model.layers.0.mlp.up_proj.weight");
 * Quantized4Bit again = Quantized4Bit.fromTensors("model.layers.0.mlp.up_proj.weight", file);
 * }</pre>
 *
 * @param packed (numel + 1) / 2 bytes of codes (owned, not copied)
 * @param state absmax, code table, blocksize, shape and dtype
 */
public record Quantized4Bit(byte[] packed, QuantState state) {
    /** Elements per parallel chunk: big enough that a chunk outlasts its scheduling. */
    private static final long GRAIN_ELEMENTS = 1 << 16;

    public Quantized4Bit {
        Objects.requireNonNull(state, "state");
        long expected = (state.numel() + 1) / 2;
        if (packed.length != expected) {
            throw new IllegalArgumentException("shape " + Arrays.toString(state.shape()) + " packs into "
                    + expected + " bytes, got " + packed.length);
        }
    }

    /**
     * Quantizes {@code weights} (row-major, {@code prod(shape)} values) in blocks of
     * {@code blocksize} (a power of two in [32, 4096]; bitsandbytes' default is 64). With
     * {@code doubleQuant} the absmax values are quantized again to 8 bits (QLoRA's double
     * quantization). The state's dtype is "float32"; see {@link QuantState#withDtype}.
     */
    public static Quantized4Bit quantize(float[] weights, long[] shape, QuantType type, int blocksize,
                                         boolean doubleQuant) {
        return quantize(MemorySegment.ofArray(weights), shape, type, blocksize, doubleQuant);
    }

    /** As {@link #quantize(float[], long[], QuantType, int, boolean)}, reading F32 from a segment of exactly 4 * prod(shape) bytes. */
    public static Quantized4Bit quantize(MemorySegment f32, long[] shape, QuantType type, int blocksize,
                                         boolean doubleQuant) {
        Objects.requireNonNull(type, "type");
        QuantState.checkBlocksize(blocksize);
        long n = StoredTensor.numel(shape);
        if (n == 0 || n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("can quantize 1 to " + Integer.MAX_VALUE + " values, shape "
                    + Arrays.toString(shape) + " has " + n);
        }
        if (f32.byteSize() != n * 4) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + n * 4
                    + " bytes of F32, got " + f32.byteSize());
        }
        long blocks = (n + blocksize - 1) / blocksize;
        byte[] packed = new byte[(int) ((n + 1) / 2)];
        float[] absmax = new float[(int) blocks];
        // Encoding is a host codec (weights are quantized once, as they load): chunks of blocks
        // run on the common fork-join pool, each writing only its own blocks.
        long grain = grainBlocks(blocksize);
        LongStream.range(0, (blocks + grain - 1) / grain).parallel().forEach(c ->
                Blockwise4Bit.quantize(f32, n, type, blocksize, c * grain, Math.min(blocks, (c + 1) * grain), packed, absmax));
        QuantState state = doubleQuant
                ? new QuantState(type, blocksize, shape.clone(), "float32", type.code(), null, QuantState.DoubleQuant.of(absmax))
                : new QuantState(type, blocksize, shape.clone(), "float32", type.code(), absmax, null);
        return new Quantized4Bit(packed, state);
    }

    /** The dequantized values, {@code code[q] * absmax} in float32, row-major. */
    public float[] dequantize() {
        long n = state.numel();
        float[] out = new float[Math.toIntExact(n)];
        dequantizeInto(MemorySegment.ofArray(out));
        return out;
    }

    /** Dequantizes into {@code outF32}, 4 * numel bytes of little-endian F32. */
    public void dequantizeInto(MemorySegment outF32) {
        requireBytes(outF32, 4);
        decodeOnCpu(DType.F32, outF32);
    }

    /** The dequantized values rounded to BF16 (nearest even), as raw bits. */
    public short[] dequantizeBf16() {
        short[] out = new short[Math.toIntExact(state.numel())];
        dequantizeBf16Into(MemorySegment.ofArray(out));
        return out;
    }

    /** Dequantizes into {@code outBf16}, 2 * numel bytes of little-endian BF16. */
    public void dequantizeBf16Into(MemorySegment outBf16) {
        requireBytes(outBf16, 2);
        decodeOnCpu(DType.BF16, outBf16);
    }

    /** The CPU backend's 4-bit decode over this tensor's arrays, into {@code out} (numel elements of {@code dtype}). */
    private void decodeOnCpu(DType dtype, MemorySegment out) {
        long n = state.numel();
        float[] absmax = state.absmaxF32();
        // wrapped, not copied: the arrays and out stay where they are
        Packed4Bit w = Packed4Bit.plain(Tensor.wrap(DType.U8, new int[] {packed.length}, MemorySegment.ofArray(packed)),
                floats(state.code()), state.blocksize(), floats(absmax), 1, Math.toIntExact(n));
        Backends.cpu().dequantize4bit(w, DType.F32, Tensor.wrap(dtype, new int[] {(int) n}, out));
    }

    private static Tensor floats(float[] values) {
        return Tensor.wrap(DType.F32, new int[] {values.length}, MemorySegment.ofArray(values));
    }

    /**
     * The packed weight under {@code weightKey} (U8, shape [(numel + 1) / 2, 1], as bitsandbytes
     * saves it) followed by {@link QuantState#toTensors}.
     */
    public Map<String, StoredTensor> toTensors(String weightKey) {
        Map<String, StoredTensor> out = new LinkedHashMap<>();
        out.put(weightKey, StoredTensor.u8(packed.clone(), packed.length, 1));
        out.putAll(state.toTensors(weightKey));
        return out;
    }

    /** Reads what {@link #toTensors} writes (or bitsandbytes saves); errors name the key. */
    public static Quantized4Bit fromTensors(String weightKey, Map<String, StoredTensor> tensors) {
        QuantState state = QuantState.fromTensors(weightKey, tensors);
        StoredTensor weight = tensors.get(weightKey);
        if (weight == null) {
            throw new IllegalArgumentException(weightKey + ": missing packed 4-bit weight");
        }
        if (!weight.dtype().equals("U8")) {
            throw new IllegalArgumentException(weightKey + ": packed 4-bit weight must be U8, got " + weight.dtype());
        }
        long expected = (state.numel() + 1) / 2;
        if (weight.numel() != expected) {
            throw new IllegalArgumentException(weightKey + ": shape " + Arrays.toString(state.shape()) + " packs into "
                    + expected + " bytes, got " + weight.numel());
        }
        return new Quantized4Bit(weight.data().clone(), state);
    }

    private void requireBytes(MemorySegment out, int bytesPerElement) {
        long expected = state.numel() * bytesPerElement;
        if (out.byteSize() != expected) {
            throw new IllegalArgumentException("output for shape " + Arrays.toString(state.shape()) + " needs "
                    + expected + " bytes, got " + out.byteSize());
        }
    }

    private static long grainBlocks(int blocksize) {
        return Math.max(1, GRAIN_ELEMENTS / blocksize);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Quantized4Bit q && Arrays.equals(packed, q.packed) && state.equals(q.state);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(packed) + state.hashCode();
    }

    @Override
    public String toString() {
        return "Quantized4Bit[" + packed.length + " bytes, " + state + "]";
    }
}
