package dev.tessera.quant;

import dev.tessera.core.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The naive twin of {@link Dequant4Vector}: one element at a time,
 * {@code out[e] = code[nibble(e)] * absmax[e / blocksize]} where element 2k is the high nibble
 * of byte k and element 2k+1 its low nibble. Elements [from, to) of a tensor of any length.
 */
final class Dequant4Scalar {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Dequant4Scalar() {}

    static float value(MemorySegment packed, float[] absmax, float[] code, int blocksize, long e) {
        int b = packed.get(ValueLayout.JAVA_BYTE, e >>> 1);
        int q = (e & 1) == 0 ? (b >>> 4) & 15 : b & 15;
        return code[q] * absmax[(int) (e / blocksize)];
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
}
