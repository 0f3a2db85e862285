package dev.tessera.core;

/**
 * Element types a {@link Tensor} can hold. Floating compute is F32 on the CPU; BF16 and F16
 * are storage types whose conversions round to nearest even, as PyTorch does.
 */
public enum DType {
    F32(4, true),
    BF16(2, true),
    F16(2, true),
    I64(8, false),
    I32(4, false),
    U8(1, false),
    BOOL(1, false);

    private final int byteSize;
    private final boolean floating;

    DType(int byteSize, boolean floating) {
        this.byteSize = byteSize;
        this.floating = floating;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    public boolean isFloating() {
        return floating;
    }

    /** BF16 bits to float: BF16 is the top half of an IEEE float. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    /** Float to BF16 bits with round-to-nearest-even; NaN stays a quiet NaN. */
    public static short floatToBf16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7F800000) == 0x7F800000 && (bits & 0x007FFFFF) != 0) {
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        int rounded = bits + 0x7FFF + lsb;
        return (short) (rounded >>> 16);
    }

    /** F16 bits to float (exact). */
    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** Float to F16 bits with round-to-nearest-even (IEEE 754 binary16). */
    public static short floatToF16(float value) {
        return Float.floatToFloat16(value);
    }

    /** The safetensors name of this dtype ("F32", "BF16", ...). */
    public String safetensorsName() {
        return name();
    }
}
