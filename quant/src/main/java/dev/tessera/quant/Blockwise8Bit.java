package dev.tessera.quant;

/**
 * Blockwise 8-bit quantization with a 256-entry map (bitsandbytes' {@code quantize_blockwise}):
 * the values are cut into blocks of {@code blocksize}, each block keeps its absmax in float32,
 * and each value becomes the index of the map entry nearest to {@code x / absmax} (ties to the
 * lower index). Double quantization uses it on the 4-bit absmax values (blocksize 256, signed
 * {@link DynamicMap}); 8-bit optimizers use it on their states.
 *
 * <pre>{@code
 * float[] x = {0.5f, -1f, 0.25f};
 * byte[] codes = new byte[3];
 * float[] absmax = new float[Blockwise8Bit.blocks(3, 256)];
 * float[] map = DynamicMap.signed();
 * Blockwise8Bit.quantize(x, map, 256, codes, absmax);
 * float[] back = new float[3];
 * Blockwise8Bit.dequantize(codes, absmax, map, 256, back);   // back ~ x
 * }</pre>
 */
public final class Blockwise8Bit {
    private Blockwise8Bit() {}

    /** Number of absmax values for {@code n} elements in blocks of {@code blocksize}. */
    public static int blocks(int n, int blocksize) {
        checkBlocksize(blocksize);
        return (int) (((long) n + blocksize - 1) / blocksize);
    }

    /**
     * Quantizes {@code x} into {@code codes} (one byte each, read unsigned) and {@code absmax}
     * (one float per block). {@code map} must hold 256 values sorted ascending. A block of zeros
     * gets absmax 0 and the code nearest to 0.
     */
    public static void quantize(float[] x, float[] map, int blocksize, byte[] codes, float[] absmax) {
        checkMap(map);
        int blocks = blocks(x.length, blocksize);
        if (codes.length != x.length || absmax.length != blocks) {
            throw new IllegalArgumentException("8-bit quantize of " + x.length + " values needs " + x.length
                    + " codes and " + blocks + " absmax, got " + codes.length + " and " + absmax.length);
        }
        for (int b = 0; b < blocks; b++) {
            int from = b * blocksize;
            int to = Math.min(x.length, from + blocksize);
            float max = 0f;
            for (int i = from; i < to; i++) {
                if (!Float.isFinite(x[i])) {
                    throw new IllegalArgumentException("cannot quantize non-finite value " + x[i] + " at index " + i);
                }
                max = Math.max(max, Math.abs(x[i]));
            }
            absmax[b] = max;
            for (int i = from; i < to; i++) {
                float v = max == 0f ? 0f : x[i] / max;
                codes[i] = (byte) nearest(map, v);
            }
        }
    }

    /** {@code out[i] = map[codes[i]] * absmax[i / blocksize]}, in float32. */
    public static void dequantize(byte[] codes, float[] absmax, float[] map, int blocksize, float[] out) {
        if (map.length != 256) {
            throw new IllegalArgumentException("8-bit map must have 256 values, got " + map.length);
        }
        int blocks = blocks(codes.length, blocksize);
        if (out.length != codes.length || absmax.length != blocks) {
            throw new IllegalArgumentException("8-bit dequantize of " + codes.length + " codes needs "
                    + blocks + " absmax and " + codes.length + " outputs, got " + absmax.length + " and " + out.length);
        }
        for (int i = 0; i < codes.length; i++) {
            out[i] = map[codes[i] & 0xFF] * absmax[i / blocksize];
        }
    }

    /**
     * Index of the entry of the sorted {@code map} nearest to {@code v}; on a tie, or among equal
     * entries, the lowest index. Binary search for the first entry {@code >= v}, then compare it
     * with its left neighbour.
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

    /** First index whose value is {@code >= v} ({@code map.length} if none). */
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

    private static void checkMap(float[] map) {
        if (map.length != 256) {
            throw new IllegalArgumentException("8-bit map must have 256 values, got " + map.length);
        }
        for (int i = 0; i + 1 < map.length; i++) {
            if (!(map[i] <= map[i + 1])) {
                throw new IllegalArgumentException("8-bit map must be sorted ascending: map[" + i + "]="
                        + map[i] + " > map[" + (i + 1) + "]=" + map[i + 1]);
            }
        }
    }

    private static void checkBlocksize(int blocksize) {
        if (blocksize < 1) {
            throw new IllegalArgumentException("blocksize must be positive, got " + blocksize);
        }
    }
}
