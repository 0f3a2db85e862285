package dev.tessera.quant;

/**
 * The absmax of each block of a 4-bit tensor, looked up in the float32 absmax or, when the
 * state is double-quantized, reconstructed on the fly ({@code map[code] * nested + offset},
 * the same float32 arithmetic as {@link QuantState#absmaxF32()}), so a layer keeps only its
 * 8-bit statistics in memory.
 */
final class BlockScales {
    private final float[] absmax;    // null when double-quantized
    private final byte[] codes;      // one per block when double-quantized
    private final float[] nested;    // one per nestedBlocksize codes
    private final float[] map;       // 256 entries
    private final int nestedBlocksize;
    private final float offset;

    private BlockScales(float[] absmax, byte[] codes, float[] nested, float[] map, int nestedBlocksize, float offset) {
        this.absmax = absmax;
        this.codes = codes;
        this.nested = nested;
        this.map = map;
        this.nestedBlocksize = nestedBlocksize;
        this.offset = offset;
    }

    static BlockScales of(QuantState state) {
        QuantState.DoubleQuant dq = state.doubleQuant();
        if (dq == null) {
            return new BlockScales(state.absmax(), null, null, null, 1, 0f);
        }
        return new BlockScales(null, dq.codes(), dq.absmax(), dq.code(), dq.blocksize(), dq.offset());
    }

    /** The float32 absmax of {@code block}. */
    float get(long block) {
        if (absmax != null) {
            return absmax[(int) block];
        }
        int b = (int) block;
        return map[codes[b] & 0xFF] * nested[b / nestedBlocksize] + offset;
    }
}
