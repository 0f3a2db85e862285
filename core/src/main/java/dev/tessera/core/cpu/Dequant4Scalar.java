package dev.tessera.core.cpu;

import dev.tessera.core.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The naive twin of {@link Dequant4Vector}: one element at a time,
 * {@code out[e] = code[nibble(e)] * absmax[e / blocksize]} where element 2k is the high nibble
 * of byte k and element 2k+1 its low nibble. Elements [from, to) of a tensor of any length.
 * {@link #rangeToF32} is the twin of {@link Dequant4Vector#rangeToF32}: any element range, written
 * at any place of the output, rounded to a compute dtype.
 */
final class Dequant4Scalar {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Dequant4Scalar() {}

    static float value(MemorySegment packed, float[] absmax, float[] code, int blocksize, long e) {
        return code[nibble(packed, e)] * absmax[(int) (e / blocksize)];
    }

    /** packed: (n+1)/2 bytes; out: F32, 4 bytes per element, little-endian. */
    static void toF32(MemorySegment packed, float[] absmax, float[] code, int blocksize,
                      long from, long to, MemorySegment out) {
        for (long e = from; e < to; e++) {
            out.set(F32, e * 4, value(packed, absmax, code, blocksize, e));
        }
    }

    /** As {@link #toF32}, rounded to BF16 (nearest even); out: 2 bytes per element. */
    static void toBf16(MemorySegment packed, float[] absmax, float[] code, int blocksize,
                       long from, long to, MemorySegment out) {
        for (long e = from; e < to; e++) {
            out.set(BF16, e * 2, DType.floatToBf16(value(packed, absmax, code, blocksize, e)));
        }
    }

    /** {@code v} rounded to the precision of {@code compute}: F32 unchanged, BF16 and F16 to nearest even. */
    static float round(float v, DType compute) {
        return switch (compute) {
            case F32 -> v;
            case BF16 -> DType.bf16ToFloat(DType.floatToBf16(v));
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            default -> throw new IllegalArgumentException("compute dtype must be F32, BF16 or F16, got " + compute);
        };
    }

    /**
     * Elements [from, to) to F32, element e at float index {@code outIndex + e - from} of
     * {@code out}: {@code round(code[nibble(e)] * absmax(e / blocksize), compute)}.
     */
    static void rangeToF32(MemorySegment packed, BlockScales scales, float[] code, int blocksize, DType compute,
                           long from, long to, MemorySegment out, long outIndex) {
        for (long e = from; e < to; e++) {
            out.setAtIndex(F32, outIndex + e - from, round(code[nibble(packed, e)] * scales.get(e / blocksize), compute));
        }
    }

    /** Sum over e in [from, to), in order, of {@code x[xIndex + e - from]} times the decoded element e. */
    static float rangeDot(MemorySegment packed, BlockScales scales, float[] code, int blocksize, DType compute,
                          long from, long to, MemorySegment x, long xIndex) {
        float sum = 0f;
        for (long e = from; e < to; e++) {
            sum += x.getAtIndex(F32, xIndex + e - from)
                    * round(code[nibble(packed, e)] * scales.get(e / blocksize), compute);
        }
        return sum;
    }

    static int nibble(MemorySegment packed, long e) {
        int b = packed.get(ValueLayout.JAVA_BYTE, e >>> 1);
        return (e & 1) == 0 ? (b >>> 4) & 15 : b & 15;
    }
}
