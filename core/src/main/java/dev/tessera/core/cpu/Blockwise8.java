package dev.tessera.core.cpu;

import dev.tessera.core.TesseraException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Blockwise 8-bit codes with a 256-entry map (bitsandbytes' quantize_blockwise) over
 * segments, a block range at a time, and the fused 8-bit AdamW step built on them. quant's
 * {@code Blockwise8Bit} is the array-based reference these are tested against.
 */
final class Blockwise8 {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;

    private Blockwise8() {}

    /**
     * Blocks [fromBlock, toBlock) of the n floats at {@code x[xo..]} (byte offset) into codes
     * and absmax (byte offsets co, ao).
     */
    static void quantize(MemorySegment x, long xo, long n, float[] map, int blocksize, MemorySegment codes, long co,
                         MemorySegment absmax, long ao, long fromBlock, long toBlock) {
        for (long b = fromBlock; b < toBlock; b++) {
            long start = b * blocksize;
            long end = Math.min(n, start + blocksize);
            float max = 0f;
            for (long i = start; i < end; i++) {
                float v = x.get(F32, xo + i * 4);
                if (!Float.isFinite(v)) {
                    throw new TesseraException("8-bit quantize: non-finite value " + v + " at index " + i);
                }
                max = Math.max(max, Math.abs(v));
            }
            absmax.set(F32, ao + b * 4, max);
            for (long i = start; i < end; i++) {
                float v = max == 0f ? 0f : x.get(F32, xo + i * 4) / max;
                codes.set(U8, co + i, (byte) nearest(map, v));
            }
        }
    }

    /** Elements of blocks [fromBlock, toBlock): out = map[code] * absmax[block]. */
    static void dequantize(MemorySegment codes, long co, MemorySegment absmax, long ao, float[] map, int blocksize,
                           long n, MemorySegment out, long oo, long fromBlock, long toBlock) {
        for (long b = fromBlock; b < toBlock; b++) {
            long start = b * blocksize;
            long end = Math.min(n, start + blocksize);
            float scale = absmax.get(F32, ao + b * 4);
            for (long i = start; i < end; i++) {
                out.set(F32, oo + i * 4, map[codes.get(U8, co + i) & 0xFF] * scale);
            }
        }
    }

    /**
     * Index of the entry of the sorted {@code map} nearest to {@code v}; on a tie, or among equal
     * entries, the lowest index (binary search for the first entry {@code >= v}, then compare it
     * with its left neighbour).
     */
    static int nearest(float[] map, float v) {
        int hi = lowerBound(map, v);
        if (hi == 0) {
            return 0;
        }
        if (hi == map.length) {
            return lowerBound(map, map[map.length - 1]);
        }
        // Doubles hold these float differences exactly wherever the comparison is close.
        double below = (double) v - map[hi - 1];
        double above = (double) map[hi] - v;
        return below <= above ? lowerBound(map, map[hi - 1]) : hi;
    }

    private static int lowerBound(float[] map, float v) {
        int lo = 0;
        int hi = map.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (map[mid] < v) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }
}
