package dev.tessera.core.cpu;

import dev.tessera.core.DType;
import dev.tessera.core.cpu.VectorWidth;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * 4-bit dequantization with the Vector API. Every element of a block decodes to one of 16
 * numbers, {@code code[q] * absmax}, so each block first scales the code table once (and for
 * BF16 rounds it), keeping it in registers; each element is then a table lookup. A step turns
 * L packed bytes into 2L outputs (L = int lanes: 16 with AVX-512, 8 with AVX2): widen the
 * bytes, duplicate each lane (elements 2k and 2k+1 share byte k), shift by 4 or 0 and mask to
 * get the nibble, {@code selectFrom} the table. Results equal {@link Dequant4Scalar} bit for
 * bit, since both compute the same float product per element. Blocks hold whole steps (at
 * least 32 elements); what is left of a short last block runs scalar, and so does everything
 * when fewer than 8 int lanes are available. {@link #rangeToF32} does the same for any element
 * range (a tile of a weight matrix), written anywhere in its output.
 */
final class Dequant4Vector {
    static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, VectorWidth.SHAPE);
    private static final int L = INTS.length();
    static final boolean SUPPORTED = L >= 8 && L <= 16;
    private static final VectorSpecies<Float> FLOATS = INTS.withLanes(float.class);
    private static final VectorSpecies<Short> SHORTS = INTS.withLanes(short.class);
    private static final VectorSpecies<Byte> BYTES =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * 8)));
    // F32: lane i of the first output vector reads byte i/2, of the second byte L/2 + i/2.
    private static final VectorShuffle<Integer> FIRST_HALF = VectorShuffle.fromOp(INTS, i -> i / 2);
    private static final VectorShuffle<Integer> SECOND_HALF = VectorShuffle.fromOp(INTS, i -> L / 2 + i / 2);
    // Even elements take the high nibble.
    private static final IntVector INT_SHIFT = IntVector.zero(INTS).addIndex(1).and(1).mul(-4).add(4);
    // BF16: 2L short lanes from L bytes, same pattern.
    private static final VectorShuffle<Short> SHORT_PAIRS = VectorShuffle.fromOp(SHORTS, i -> i / 2);
    private static final ShortVector SHORT_SHIFT =
            ShortVector.zero(SHORTS).addIndex(1).and((short) 1).mul((short) -4).add((short) 4);
    // Picks the low 16 bits of each int lane of two int vectors viewed as shorts.
    private static final ShortVector EVEN_SHORTS = ShortVector.zero(SHORTS).addIndex(2);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private Dequant4Vector() {}

    /** Elements of blocks [fromBlock, toBlock) of an n-element tensor to F32. */
    static void toF32(MemorySegment packed, float[] absmax, float[] code, int blocksize, long n,
                      long fromBlock, long toBlock, MemorySegment out) {
        if (!SUPPORTED || blocksize < 2 * L) {
            Dequant4Scalar.toF32(packed, absmax, code, blocksize, fromBlock * blocksize,
                    Math.min(n, toBlock * blocksize), out);
            return;
        }
        FloatVector codeLow = FloatVector.fromArray(FLOATS, code, 0);
        FloatVector codeHigh = FloatVector.fromArray(FLOATS, code, L % 16);
        for (long b = fromBlock; b < toBlock; b++) {
            long start = b * blocksize;
            long end = Math.min(n, start + blocksize);
            float scale = absmax[(int) b];
            IntVector tableLow = (IntVector) codeLow.mul(scale).reinterpretAsInts();
            IntVector tableHigh = L == 16 ? tableLow : (IntVector) codeHigh.mul(scale).reinterpretAsInts();
            long e = start;
            for (; e + 2L * L <= end; e += 2L * L) {
                IntVector bytes = (IntVector) ByteVector.fromMemorySegment(BYTES, packed, e >>> 1, LE)
                        .convertShape(VectorOperators.B2I, INTS, 0);
                lookup(bytes, FIRST_HALF, tableLow, tableHigh).intoMemorySegment(out, e * 4, LE);
                lookup(bytes, SECOND_HALF, tableLow, tableHigh).intoMemorySegment(out, (e + L) * 4, LE);
            }
            Dequant4Scalar.toF32(packed, absmax, code, blocksize, e, end, out);
        }
    }

    /** As {@link #toF32}, rounded to BF16 (nearest even, NaN kept quiet, as DType.floatToBf16). */
    static void toBf16(MemorySegment packed, float[] absmax, float[] code, int blocksize, long n,
                       long fromBlock, long toBlock, MemorySegment out) {
        if (!SUPPORTED || blocksize < 2 * L) {
            Dequant4Scalar.toBf16(packed, absmax, code, blocksize, fromBlock * blocksize,
                    Math.min(n, toBlock * blocksize), out);
            return;
        }
        FloatVector codeLow = FloatVector.fromArray(FLOATS, code, 0);
        FloatVector codeHigh = FloatVector.fromArray(FLOATS, code, L % 16);
        for (long b = fromBlock; b < toBlock; b++) {
            long start = b * blocksize;
            long end = Math.min(n, start + blocksize);
            float scale = absmax[(int) b];
            IntVector low = bf16(codeLow.mul(scale));
            IntVector high = L == 16 ? low : bf16(codeHigh.mul(scale));
            // 16 BF16 values in lanes 0..15 (with AVX-512 lanes 16..31 repeat them).
            ShortVector table = EVEN_SHORTS.selectFrom(low.reinterpretAsShorts(), high.reinterpretAsShorts());
            long e = start;
            for (; e + 2L * L <= end; e += 2L * L) {
                ShortVector bytes = (ShortVector) ByteVector.fromMemorySegment(BYTES, packed, e >>> 1, LE)
                        .convertShape(VectorOperators.B2S, SHORTS, 0);
                bytes.rearrange(SHORT_PAIRS).lanewise(VectorOperators.LSHR, SHORT_SHIFT).and((short) 15)
                        .selectFrom(table).intoMemorySegment(out, e * 2, LE);
            }
            Dequant4Scalar.toBf16(packed, absmax, code, blocksize, e, end, out);
        }
    }

    /**
     * Elements [from, to) of a 4-bit tensor to F32, element e at float index
     * {@code outIndex + e - from} of {@code out}, each {@code round(code[q] * absmax, compute)}
     * (see {@link Dequant4Scalar#round}); equal bit for bit to {@link Dequant4Scalar#rangeToF32}.
     * The range may start and end anywhere: an odd first element and block tails run scalar.
     */
    static void rangeToF32(MemorySegment packed, BlockScales scales, float[] code, int blocksize, DType compute,
                           long from, long to, MemorySegment out, long outIndex) {
        rowsToF32(packed, scales, code, blocksize, compute, from, 0, 1, to - from, out, outIndex, 0);
    }

    /**
     * {@code rows} ranges of {@code width} elements, range i starting at element
     * {@code first + i * stride} and landing at float index {@code outIndex + i * outStride}:
     * a panel of columns of a row-major matrix, as {@link #rangeToF32} decodes each range.
     */
    static void rowsToF32(MemorySegment packed, BlockScales scales, float[] code, int blocksize, DType compute,
                          long first, long stride, int rows, long width, MemorySegment out, long outIndex,
                          long outStride) {
        if (!SUPPORTED) {
            for (int i = 0; i < rows; i++) {
                long from = first + i * stride;
                Dequant4Scalar.rangeToF32(packed, scales, code, blocksize, compute, from, from + width, out,
                        outIndex + i * outStride);
            }
            return;
        }
        FloatVector codeLow = FloatVector.fromArray(FLOATS, code, 0);
        FloatVector codeHigh = FloatVector.fromArray(FLOATS, code, L % 16);
        float[] rounded = compute == DType.F16 ? new float[16] : null;
        for (int i = 0; i < rows; i++) {
            long from = first + i * stride;
            long to = from + width;
            long shift = outIndex + i * outStride - from;
            long e = from;
            while (e < to) {
                long block = e / blocksize;
                long end = Math.min(to, (block + 1) * blocksize);
                float scale = scales.get(block);
                if (end - e >= 2L * L) {
                    IntVector tableLow;
                    IntVector tableHigh;
                    if (rounded != null) {
                        for (int q = 0; q < 16; q++) {
                            rounded[q] = Dequant4Scalar.round(code[q] * scale, compute);
                        }
                        tableLow = FloatVector.fromArray(FLOATS, rounded, 0).reinterpretAsInts();
                        tableHigh = L == 16 ? tableLow : FloatVector.fromArray(FLOATS, rounded, L % 16).reinterpretAsInts();
                    } else {
                        tableLow = scaledTable(codeLow, scale, compute);
                        tableHigh = L == 16 ? tableLow : scaledTable(codeHigh, scale, compute);
                    }
                    if ((e & 1) != 0) {
                        // Steps start at a byte boundary.
                        out.setAtIndex(Dequant4Scalar.F32, e + shift,
                                Dequant4Scalar.round(code[Dequant4Scalar.nibble(packed, e)] * scale, compute));
                        e++;
                    }
                    for (; e + 2L * L <= end; e += 2L * L) {
                        IntVector bytes = (IntVector) ByteVector.fromMemorySegment(BYTES, packed, e >>> 1, LE)
                                .convertShape(VectorOperators.B2I, INTS, 0);
                        lookup(bytes, FIRST_HALF, tableLow, tableHigh).intoMemorySegment(out, (e + shift) * 4, LE);
                        lookup(bytes, SECOND_HALF, tableLow, tableHigh).intoMemorySegment(out, (e + shift + L) * 4, LE);
                    }
                }
                for (; e < end; e++) {
                    out.setAtIndex(Dequant4Scalar.F32, e + shift,
                            Dequant4Scalar.round(code[Dequant4Scalar.nibble(packed, e)] * scale, compute));
                }
            }
        }
    }

    /**
     * The dot product of elements [from, to) of a 4-bit tensor, decoded as in
     * {@link #rangeToF32}, with floats {@code x[xIndex ...]}: one output of a matrix-vector
     * product, decoded in registers. Products accumulate per lane (fused multiply-add), lanes
     * are summed at the end; {@link Dequant4Scalar#rangeDot} sums in element order instead.
     */
    static float rangeDot(MemorySegment packed, BlockScales scales, float[] code, int blocksize, DType compute,
                          long from, long to, MemorySegment x, long xIndex) {
        if (!SUPPORTED || compute == DType.F16) {
            return Dequant4Scalar.rangeDot(packed, scales, code, blocksize, compute, from, to, x, xIndex);
        }
        FloatVector codeLow = FloatVector.fromArray(FLOATS, code, 0);
        FloatVector codeHigh = FloatVector.fromArray(FLOATS, code, L % 16);
        FloatVector acc0 = FloatVector.zero(FLOATS);
        FloatVector acc1 = FloatVector.zero(FLOATS);
        float rest = 0f;
        long shift = xIndex - from;
        long e = from;
        while (e < to) {
            long block = e / blocksize;
            long end = Math.min(to, (block + 1) * blocksize);
            float scale = scales.get(block);
            if (end - e >= 2L * L) {
                IntVector tableLow = scaledTable(codeLow, scale, compute);
                IntVector tableHigh = L == 16 ? tableLow : scaledTable(codeHigh, scale, compute);
                if ((e & 1) != 0) {
                    rest += x.getAtIndex(Dequant4Scalar.F32, e + shift)
                            * Dequant4Scalar.round(code[Dequant4Scalar.nibble(packed, e)] * scale, compute);
                    e++;
                }
                for (; e + 2L * L <= end; e += 2L * L) {
                    IntVector bytes = (IntVector) ByteVector.fromMemorySegment(BYTES, packed, e >>> 1, LE)
                            .convertShape(VectorOperators.B2I, INTS, 0);
                    acc0 = lookup(bytes, FIRST_HALF, tableLow, tableHigh)
                            .fma(FloatVector.fromMemorySegment(FLOATS, x, (e + shift) * 4, LE), acc0);
                    acc1 = lookup(bytes, SECOND_HALF, tableLow, tableHigh)
                            .fma(FloatVector.fromMemorySegment(FLOATS, x, (e + shift + L) * 4, LE), acc1);
                }
            }
            for (; e < end; e++) {
                rest += x.getAtIndex(Dequant4Scalar.F32, e + shift)
                        * Dequant4Scalar.round(code[Dequant4Scalar.nibble(packed, e)] * scale, compute);
            }
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD) + rest;
    }

    /** The code values times {@code scale} as float bits, rounded to BF16 precision when asked. */
    private static IntVector scaledTable(FloatVector code, float scale, DType compute) {
        FloatVector scaled = code.mul(scale);
        return compute == DType.BF16
                ? bf16(scaled).lanewise(VectorOperators.LSHL, 16)
                : scaled.reinterpretAsInts();
    }

    private static FloatVector lookup(IntVector bytes, VectorShuffle<Integer> half, IntVector tableLow,
                                      IntVector tableHigh) {
        IntVector nibbles = bytes.rearrange(half).lanewise(VectorOperators.LSHR, INT_SHIFT).and(15);
        return (FloatVector) nibbles.selectFrom(tableLow, tableHigh).reinterpretAsFloats();
    }

    /** BF16 bits of each lane, in the low half of an int lane. */
    private static IntVector bf16(FloatVector f) {
        IntVector bits = (IntVector) f.reinterpretAsInts();
        IntVector top = bits.lanewise(VectorOperators.LSHR, 16);
        IntVector rounded = bits.add(top.and(1)).add(0x7FFF).lanewise(VectorOperators.LSHR, 16);
        VectorMask<Integer> nan = f.test(VectorOperators.IS_NAN).cast(INTS);
        return rounded.blend(top.or(0x40), nan);
    }
}
