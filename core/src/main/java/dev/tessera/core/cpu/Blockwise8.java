package dev.tessera.core.cpu;

import dev.tessera.core.TesseraException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

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
    static void quantize(MemorySegment x, long xo, long n, Codebook map, int blocksize, MemorySegment codes, long co,
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
                codes.set(U8, co + i, (byte) map.nearest(v));
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

    /** The first index whose entry is {@code >= v} ({@code map.length} if none). */
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

    /**
     * A sorted map with a bucket index, so that the nearest entry costs a table load and a step or
     * two instead of an eight-step binary search (the search was the 8-bit optimizer's hot spot).
     * Buckets split the float line by the top 15 bits of an order-preserving integer key (sign,
     * exponent and the mantissa's top 6 bits), so each spans under 2% of its values; the dynamic
     * maps' entries lie further apart than that, so a bucket holds one or two of them. Results
     * equal a binary search's for every float (Blockwise8Test).
     */
    static final class Codebook {
        /** Low key bits a bucket ignores: 2^(32 - SHIFT) buckets of 2^-6 relative width. */
        private static final int SHIFT = 17;
        private static final int BUCKETS = 1 << (32 - SHIFT);
        /** The few maps in use (the 8-bit optimizer alternates a signed and an unsigned one). */
        private static volatile Codebook[] recent = new Codebook[0];

        final float[] map;
        /** Per bucket: the lower bound of its smallest float, a start that never passes v's. */
        private final short[] start;
        /** Per entry j: the first index holding the same value as entry j. */
        private final short[] firstEqual;

        private Codebook(float[] map) {
            this.map = map;
            this.start = new short[BUCKETS];
            for (int b = 0; b < BUCKETS; b++) {
                int key = (b - BUCKETS / 2) << SHIFT;
                float smallest = Float.intBitsToFloat(key >= 0 ? key : key ^ 0x7fffffff);
                // NaN (the buckets past infinity) compares false: start 0, which is always safe
                start[b] = (short) lowerBound(map, smallest);
            }
            this.firstEqual = new short[map.length];
            for (int j = 0; j < map.length; j++) {
                firstEqual[j] = (short) lowerBound(map, map[j]);
            }
        }

        /** The codebook of {@code map} (sorted ascending), reused while callers pass the same map. */
        static Codebook of(float[] map) {
            Codebook[] known = recent;
            for (Codebook c : known) {
                if (Arrays.equals(c.map, map)) {
                    return c;
                }
            }
            Codebook c = new Codebook(map.clone());
            Codebook[] next = Arrays.copyOf(known, Math.min(known.length + 1, 4));
            System.arraycopy(known, 0, next, 1, next.length - 1);
            next[0] = c;
            recent = next;
            return c;
        }

        /**
         * Index of the entry nearest to {@code v}; on a tie, or among equal entries, the lowest
         * index (bitsandbytes' rounding to the map).
         */
        int nearest(float v) {
            if (v != v) {
                return 0; // NaN: the search's answer (no entry compares below it); shares a bucket with infinity
            }
            int bits = Float.floatToRawIntBits(v);
            int key = bits ^ ((bits >> 31) & 0x7fffffff); // ordered as the floats are
            int hi = start[(key >> SHIFT) + BUCKETS / 2];
            while (hi < map.length && map[hi] < v) {
                hi++;
            }
            if (hi == 0) {
                return 0;
            }
            if (hi == map.length) {
                return firstEqual[map.length - 1];
            }
            double below = (double) v - map[hi - 1];
            double above = (double) map[hi] - v;
            return below <= above ? firstEqual[hi - 1] : hi;
        }
    }
}
