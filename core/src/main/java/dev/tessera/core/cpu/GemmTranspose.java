package dev.tessera.core.cpu;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * 8 x 8 float transposes in 256-bit registers, for packing the operands stored across the grain
 * of the packed panels (B when transB, A when !transA). Three rounds of two-source permutes:
 * round h swaps the off-diagonal h x h blocks of every 2h x 2h block. Kept small and branch-free
 * on purpose: a bigger one (16 x 16, or with masks) exhausts C1's virtual registers, and a
 * method C1 gives up on here never reaches C2. Used where the preferred species is at least
 * 256 bits; elsewhere, and for edge panels, packing uses scalar loops.
 */
final class GemmTranspose {
    static final int SIZE = 8;
    static final boolean AVAILABLE = VectorWidth.FLOATS.length() >= SIZE;
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    // Round h: the low row takes (lo[c], hi[c-h]) and the high row (lo[c+h], hi[c]) as bit h of c
    // is 0 or 1; selectFrom indexes 0..7 pick from its first source and 8..15 from its second.
    private static final FloatVector LO4 = index(true, 4);
    private static final FloatVector HI4 = index(false, 4);
    private static final FloatVector LO2 = index(true, 2);
    private static final FloatVector HI2 = index(false, 2);
    private static final FloatVector LO1 = index(true, 1);
    private static final FloatVector HI1 = index(false, 1);

    private GemmTranspose() {}

    private static FloatVector index(boolean low, int h) {
        float[] index = new float[SIZE];
        for (int c = 0; c < SIZE; c++) {
            boolean upper = (c & h) != 0;
            index[c] = low ? (upper ? SIZE + c - h : c) : (upper ? SIZE + c : c + h);
        }
        return FloatVector.fromArray(S, index, 0);
    }

    /**
     * dst[dOff + q*ldd + r] = src[r, q] for q, r < 8, where src[r, q] is the float at byte
     * {@code srcByte + r*rowBytes + 4q} of {@code src}.
     */
    static void transpose(MemorySegment src, long srcByte, long rowBytes, float[] dst, int dOff, int ldd) {
        FloatVector v0 = FloatVector.fromMemorySegment(S, src, srcByte, NATIVE);
        FloatVector v1 = FloatVector.fromMemorySegment(S, src, srcByte + 1 * rowBytes, NATIVE);
        FloatVector v2 = FloatVector.fromMemorySegment(S, src, srcByte + 2 * rowBytes, NATIVE);
        FloatVector v3 = FloatVector.fromMemorySegment(S, src, srcByte + 3 * rowBytes, NATIVE);
        FloatVector v4 = FloatVector.fromMemorySegment(S, src, srcByte + 4 * rowBytes, NATIVE);
        FloatVector v5 = FloatVector.fromMemorySegment(S, src, srcByte + 5 * rowBytes, NATIVE);
        FloatVector v6 = FloatVector.fromMemorySegment(S, src, srcByte + 6 * rowBytes, NATIVE);
        FloatVector v7 = FloatVector.fromMemorySegment(S, src, srcByte + 7 * rowBytes, NATIVE);
        { FloatVector lo = v0, hi = v4; v0 = LO4.selectFrom(lo, hi); v4 = HI4.selectFrom(lo, hi); }
        { FloatVector lo = v1, hi = v5; v1 = LO4.selectFrom(lo, hi); v5 = HI4.selectFrom(lo, hi); }
        { FloatVector lo = v2, hi = v6; v2 = LO4.selectFrom(lo, hi); v6 = HI4.selectFrom(lo, hi); }
        { FloatVector lo = v3, hi = v7; v3 = LO4.selectFrom(lo, hi); v7 = HI4.selectFrom(lo, hi); }
        { FloatVector lo = v0, hi = v2; v0 = LO2.selectFrom(lo, hi); v2 = HI2.selectFrom(lo, hi); }
        { FloatVector lo = v1, hi = v3; v1 = LO2.selectFrom(lo, hi); v3 = HI2.selectFrom(lo, hi); }
        { FloatVector lo = v4, hi = v6; v4 = LO2.selectFrom(lo, hi); v6 = HI2.selectFrom(lo, hi); }
        { FloatVector lo = v5, hi = v7; v5 = LO2.selectFrom(lo, hi); v7 = HI2.selectFrom(lo, hi); }
        { FloatVector lo = v0, hi = v1; v0 = LO1.selectFrom(lo, hi); v1 = HI1.selectFrom(lo, hi); }
        { FloatVector lo = v2, hi = v3; v2 = LO1.selectFrom(lo, hi); v3 = HI1.selectFrom(lo, hi); }
        { FloatVector lo = v4, hi = v5; v4 = LO1.selectFrom(lo, hi); v5 = HI1.selectFrom(lo, hi); }
        { FloatVector lo = v6, hi = v7; v6 = LO1.selectFrom(lo, hi); v7 = HI1.selectFrom(lo, hi); }
        v0.intoArray(dst, dOff);
        v1.intoArray(dst, dOff + 1 * ldd);
        v2.intoArray(dst, dOff + 2 * ldd);
        v3.intoArray(dst, dOff + 3 * ldd);
        v4.intoArray(dst, dOff + 4 * ldd);
        v5.intoArray(dst, dOff + 5 * ldd);
        v6.intoArray(dst, dOff + 6 * ldd);
        v7.intoArray(dst, dOff + 7 * ldd);
    }
}
