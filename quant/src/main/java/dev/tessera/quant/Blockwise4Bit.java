package dev.tessera.quant;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Blockwise 4-bit quantization (bitsandbytes' {@code quantize_4bit}): the flattened tensor is
 * cut into blocks, each block's absmax is kept in float32 and each value {@code x} becomes
 * {@code type.nearest(x / absmax)}. Two codes per byte, the first element in the high nibble;
 * an odd count is padded with the code of 0.0; an all-zero block gets absmax 0 and zero codes.
 *
 * <p>NF4 blocks of whole vector steps run on the Vector API: the absmax is a lane-wise max, and
 * each code is the count of (float) thresholds below {@code x / absmax} (see
 * {@link QuantType#floatThresholds}), the same division and the same comparisons as
 * {@link QuantType#nearest}, so the bytes equal the scalar loop's. FP4, short blocks and blocks
 * holding a non-finite value (which the scalar loop reports) run scalar.
 */
final class Blockwise4Bit {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Integer> INTS = FLOATS.withLanes(int.class);
    private static final int L = FLOATS.length();
    private static final VectorSpecies<Byte> BYTES = VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    /** Lanes 2i and 2i + 1 of two concatenated code vectors: the high and low nibble of byte i. */
    private static final IntVector EVEN = IntVector.zero(INTS).addIndex(2);
    private static final IntVector ODD = EVEN.add(1);
    private static final boolean VECTOR = L >= 8 && L * 8 == BYTES.vectorBitSize();
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Blockwise4Bit() {}

    /**
     * Quantizes blocks [fromBlock, toBlock) of the n floats in {@code x} (F32, little-endian)
     * into {@code packed} ((n+1)/2 bytes) and {@code absmax} (one per block).
     */
    static void quantize(MemorySegment x, long n, QuantType type, int blocksize,
                         long fromBlock, long toBlock, byte[] packed, float[] absmax) {
        float[] thresholds = VECTOR && blocksize % (2 * L) == 0 ? type.floatThresholds() : null;
        for (long b = fromBlock; b < toBlock; b++) {
            long start = b * blocksize;
            long end = Math.min(n, start + blocksize);
            if (thresholds == null || end - start != blocksize || !vectorBlock(x, start, end, thresholds, type.zeroIndex(),
                    b, packed, absmax)) {
                scalarBlock(x, start, end, type, b, packed, absmax);
            }
        }
    }

    /** One whole block on the Vector API; false (nothing written) when it holds a non-finite value. */
    private static boolean vectorBlock(MemorySegment x, long start, long end, float[] thresholds, int zero, long b,
                                       byte[] packed, float[] absmax) {
        FloatVector max = FloatVector.zero(FLOATS);
        for (long e = start; e < end; e += L) {
            FloatVector v = FloatVector.fromMemorySegment(FLOATS, x, e * 4, LE);
            if (!v.test(VectorOperators.IS_FINITE).allTrue()) {
                return false;
            }
            max = max.max(v.abs());
        }
        float m = max.reduceLanes(VectorOperators.MAX);
        absmax[(int) b] = m;
        if (m == 0f) {
            byte z = (byte) (zero << 4 | zero);
            for (long e = start; e < end; e += 2) {
                packed[(int) (e >>> 1)] = z;
            }
            return true;
        }
        for (long e = start; e < end; e += 2L * L) {
            IntVector first = codes(FloatVector.fromMemorySegment(FLOATS, x, e * 4, LE).div(m), thresholds);
            IntVector second = codes(FloatVector.fromMemorySegment(FLOATS, x, (e + L) * 4, LE).div(m), thresholds);
            EVEN.selectFrom(first, second).lanewise(VectorOperators.LSHL, 4).or(ODD.selectFrom(first, second))
                    .convertShape(VectorOperators.I2B, BYTES, 0).reinterpretAsBytes()
                    .intoArray(packed, (int) (e >>> 1));
        }
        return true;
    }

    /** Per lane, the number of thresholds below it: the index of the nearest code of a sorted table. */
    private static IntVector codes(FloatVector v, float[] thresholds) {
        IntVector count = IntVector.zero(INTS);
        for (int k = 0; k < thresholds.length; k++) {
            VectorMask<Integer> above = v.compare(VectorOperators.GT, thresholds[k]).cast(INTS);
            count = count.blend(k + 1, above); // thresholds ascend: the masks nest
        }
        return count;
    }

    /** The naive twin of the vector path: one element at a time, {@link QuantType#nearest} per value. */
    static void scalarBlock(MemorySegment x, long start, long end, QuantType type, long b, byte[] packed,
                                    float[] absmax) {
        int zero = type.zeroIndex();
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

    private static int code(float v, float absmax, QuantType type) {
        return absmax == 0f ? type.zeroIndex() : type.nearest(v / absmax);
    }
}
