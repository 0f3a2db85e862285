package dev.tessera.core.cpu;

import dev.tessera.core.Packed4Bit;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The absmax of each block of a 4-bit tensor, looked up in the F32 absmax or, when the state is
 * double-quantized, reconstructed on the fly ({@code map[code] * nested + offset}, the same F32
 * arithmetic as quant's {@code QuantState.absmaxF32()}), so a layer keeps only its 8-bit
 * statistics in memory.
 */
final class BlockScales {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private final MemorySegment absmax;  // null when double-quantized
    private final MemorySegment codes;   // one byte per block when double-quantized
    private final MemorySegment nested;  // one float per nestedBlocksize codes
    private final float[] map;           // 256 entries
    private final int nestedBlocksize;
    /** log2(nestedBlocksize) when it is a power of two (always, in bitsandbytes), else -1: a shift, not a division, per lookup. */
    private final int nestedShift;
    private final float offset;

    private BlockScales(MemorySegment absmax, MemorySegment codes, MemorySegment nested, float[] map,
                        int nestedBlocksize, float offset) {
        this.absmax = absmax;
        this.codes = codes;
        this.nested = nested;
        this.map = map;
        this.nestedBlocksize = nestedBlocksize;
        this.nestedShift = Integer.bitCount(nestedBlocksize) == 1 ? Integer.numberOfTrailingZeros(nestedBlocksize) : -1;
        this.offset = offset;
    }

    /** Plain F32 scales, one per block. */
    static BlockScales of(float[] absmax) {
        return new BlockScales(MemorySegment.ofArray(absmax), null, null, null, 1, 0f);
    }

    /** Double-quantized scales: {@code map[codes[b]] * nested[b / nestedBlocksize] + offset}. */
    static BlockScales of(byte[] codes, float[] nested, float[] map, int nestedBlocksize, float offset) {
        return new BlockScales(null, MemorySegment.ofArray(codes), MemorySegment.ofArray(nested), map,
                nestedBlocksize, offset);
    }

    /** The scales of a weight on the CPU, read in place. */
    static BlockScales of(Packed4Bit w) {
        if (!w.isDoubleQuantized()) {
            return new BlockScales(w.absmax().dataSegment(), null, null, null, 1, 0f);
        }
        return new BlockScales(null, w.absmaxCodes().dataSegment(), w.nestedAbsmax().dataSegment(),
                w.nestedCode().dataSegment().toArray(ValueLayout.JAVA_FLOAT), w.nestedBlocksize(),
                w.nestedOffset());
    }

    /** The F32 absmax of {@code block}. */
    float get(long block) {
        if (absmax != null) {
            return absmax.getAtIndex(F32, block);
        }
        long group = nestedShift >= 0 ? block >>> nestedShift : block / nestedBlocksize;
        return map[codes.get(ValueLayout.JAVA_BYTE, block) & 0xFF] * nested.getAtIndex(F32, group) + offset;
    }

    /** All block scales as floats. */
    float[] toArray(long blocks) {
        float[] out = new float[Math.toIntExact(blocks)];
        for (int b = 0; b < out.length; b++) {
            out[b] = get(b);
        }
        return out;
    }
}
