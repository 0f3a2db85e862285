package dev.tessera.quant;

/**
 * Memory accounting for 4-bit weights: the bytes of the packed codes plus the absmax values,
 * float32 per block, or with double quantization one byte per block plus a float32 per 256
 * blocks and the float32 offset. The two 16- and 256-entry code tables (64 + 1024 bytes per
 * tensor, the same in every layer) are not counted.
 *
 * <pre>{@code
 * QuantMemory.bitsPerWeight(4096L * 4096, 64, false);   // 4.5
 * QuantMemory.bitsPerWeight(4096L * 4096, 64, true);    // 4.127 (= 4 + 8/64 + 32/(64*256))
 * }</pre>
 */
public final class QuantMemory {
    private QuantMemory() {}

    /** Bytes that {@code numel} weights take when quantized in blocks of {@code blocksize}. */
    public static long storageBytes(long numel, int blocksize, boolean doubleQuant) {
        QuantState.checkBlocksize(blocksize);
        if (numel < 1) {
            throw new IllegalArgumentException("numel must be positive, got " + numel);
        }
        long blocks = (numel + blocksize - 1) / blocksize;
        long packed = (numel + 1) / 2;
        if (!doubleQuant) {
            return packed + 4 * blocks;
        }
        long nestedBlocks = (blocks + 255) / 256;
        return packed + blocks + 4 * nestedBlocks + 4;
    }

    /** {@link #storageBytes} in bits per weight. */
    public static double bitsPerWeight(long numel, int blocksize, boolean doubleQuant) {
        return 8.0 * storageBytes(numel, blocksize, doubleQuant) / numel;
    }
}
