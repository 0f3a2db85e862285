package dev.tessera.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Blockwise 4-bit quantization (bitsandbytes' {@code quantize_4bit}): the flattened tensor is
 * cut into blocks, each block's absmax is kept in float32 and each value {@code x} becomes
 * {@code type.nearest(x / absmax)}. Two codes per byte, the first element in the high nibble;
 * an odd count is padded with the code of 0.0; an all-zero block gets absmax 0 and zero codes.
 */
final class Blockwise4Bit {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Blockwise4Bit() {}

    /**
     * Quantizes blocks [fromBlock, toBlock) of the n floats in {@code x} (F32, little-endian)
     * into {@code packed} ((n+1)/2 bytes) and {@code absmax} (one per block).
     */
    static void quantize(MemorySegment x, long n, QuantType type, int blocksize,
                         long fromBlock, long toBlock, byte[] packed, float[] absmax) {
        int zero = type.zeroIndex();
        for (long b = fromBlock; b < toBlock; b++) {
            long start = b * blocksize;
            long end = Math.min(n, start + blocksize);
            float max = 0f;
            for (long e = start; e < end; e++) {
                float v = x.getAtIndex(F32, e);
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("cannot quantize non-finite value " + v + " at flat index " + e);
                }
                max = Math.max(max, Math.abs(v));
            }
            absmax[(int) b] = max;
            // Blocks start at even elements, so a byte never straddles two blocks.
            for (long e = start; e < end; e += 2) {
                int high = code(x.getAtIndex(F32, e), max, type);
                int low = e + 1 < end ? code(x.getAtIndex(F32, e + 1), max, type) : zero;
                packed[(int) (e >>> 1)] = (byte) (high << 4 | low);
            }
        }
    }

    private static int code(float v, float absmax, QuantType type) {
        return absmax == 0f ? type.zeroIndex() : type.nearest(v / absmax);
    }
}
