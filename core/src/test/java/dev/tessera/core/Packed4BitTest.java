package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The checks and derived sizes of a 4-bit weight's parts: 3 x 7 = 21 elements, so an odd count and a tail block. */
class Packed4BitTest {
    private static final int ROWS = 3, COLS = 7, BS = 4; // 21 elements: 11 bytes, 6 blocks (the last of 1)

    private static Tensor u8(int n) {
        return Tensor.zeros(DType.U8, Device.CPU, n);
    }

    private static Tensor f32(int n) {
        return Tensor.zeros(n);
    }

    private static Packed4Bit plain(Tensor packed, Tensor code, int bs, Tensor absmax, int rows, int cols) {
        return Packed4Bit.plain(packed, code, bs, absmax, rows, cols);
    }

    @Test
    void plainWeightsKnowTheirSizes() {
        Tensor packed = u8(11), code = f32(16), absmax = f32(6);
        Packed4Bit w = plain(packed, code, BS, absmax, ROWS, COLS);
        assertEquals(21, w.numel());
        assertEquals(6, w.blocks());
        assertFalse(w.isDoubleQuantized());
        assertEquals(Device.CPU, w.device());
        assertSame(packed, w.packed());
        assertSame(absmax, w.absmax());
        assertEquals(1, w.nestedBlocksize());
        // any shape of the right size will do for the packed codes and the tables
        plain(u8(22).reshape(11, 2).narrow(1, 0, 1).contiguous(), code.reshape(4, 4), BS, absmax, ROWS, COLS);
        // one block of everything; blocks of one element
        assertEquals(1, plain(packed, code, 21, f32(1), ROWS, COLS).blocks());
        assertEquals(21, plain(packed, code, 1, f32(21), ROWS, COLS).blocks());
        assertEquals(1, plain(u8(1), code, 1, f32(1), 1, 1).numel());
    }

    @Test
    void doubleQuantizedWeightsCheckTheNestedParts() {
        Tensor packed = u8(11), code = f32(16), codes = u8(6), map = f32(256);
        // 6 block scales in nested blocks of 4: two nested absmax
        Packed4Bit w = Packed4Bit.doubleQuantized(packed, code, BS, codes, f32(2), map, 4, 0.5f, ROWS, COLS);
        assertTrue(w.isDoubleQuantized());
        assertEquals(6, w.blocks());
        assertEquals(0.5f, w.nestedOffset());
        Packed4Bit.doubleQuantized(packed, code, BS, codes, f32(6), map, 1, 0f, ROWS, COLS);
        Packed4Bit.doubleQuantized(packed, code, BS, codes, f32(1), map, 6, 0f, ROWS, COLS);
        assertThrows(TesseraException.class,
                () -> Packed4Bit.doubleQuantized(packed, code, BS, u8(5), f32(2), map, 4, 0f, ROWS, COLS));
        assertThrows(TesseraException.class,
                () -> Packed4Bit.doubleQuantized(packed, code, BS, f32(6), f32(2), map, 4, 0f, ROWS, COLS));
        assertThrows(TesseraException.class,
                () -> Packed4Bit.doubleQuantized(packed, code, BS, codes, f32(1), map, 4, 0f, ROWS, COLS));
        assertThrows(TesseraException.class,
                () -> Packed4Bit.doubleQuantized(packed, code, BS, codes, f32(3), map, 4, 0f, ROWS, COLS));
        assertThrows(TesseraException.class,
                () -> Packed4Bit.doubleQuantized(packed, code, BS, codes, f32(2), f32(255), 4, 0f, ROWS, COLS));
        assertThrows(TesseraException.class,
                () -> Packed4Bit.doubleQuantized(packed, code, BS, codes, f32(2), u8(256), 4, 0f, ROWS, COLS));
        assertThrows(NullPointerException.class,
                () -> Packed4Bit.doubleQuantized(packed, code, BS, codes, null, map, 4, 0f, ROWS, COLS));
        assertThrows(NullPointerException.class,
                () -> Packed4Bit.doubleQuantized(packed, code, BS, codes, f32(2), null, 4, 0f, ROWS, COLS));
    }

    @Test
    void partsOfTheWrongSizeDtypeOrLayoutAreRefused() {
        Tensor packed = u8(11), code = f32(16), absmax = f32(6);
        Object[][] bad = {
            {u8(10), code, absmax}, {u8(12), code, absmax}, {f32(11), code, absmax},
            {u8(22).reshape(11, 2).narrow(1, 0, 1), code, absmax},
            {packed, f32(15), absmax}, {packed, u8(16), absmax},
            {packed, code, f32(5)}, {packed, code, f32(7)}, {packed, code, u8(6)},
        };
        for (Object[] b : bad) {
            TesseraException e = assertThrows(TesseraException.class,
                    () -> plain((Tensor) b[0], (Tensor) b[1], BS, (Tensor) b[2], ROWS, COLS));
            assertTrue(e.getMessage().startsWith("4-bit weight: "), e.getMessage());
        }
        TesseraException e = assertThrows(TesseraException.class, () -> plain(u8(10), code, BS, absmax, ROWS, COLS));
        assertTrue(e.getMessage().contains("packed codes must be contiguous U8 of 11 elements"), e.getMessage());
        e = assertThrows(TesseraException.class, () -> plain(packed, code, BS, f32(5), ROWS, COLS));
        assertTrue(e.getMessage().contains("absmax must be contiguous F32 of 6 elements"), e.getMessage());
        // neither or both kinds of block scale
        assertThrows(TesseraException.class,
                () -> new Packed4Bit(packed, code, BS, null, null, null, null, 1, 0f, ROWS, COLS));
        assertThrows(TesseraException.class,
                () -> new Packed4Bit(packed, code, BS, absmax, u8(6), f32(6), f32(256), 1, 0f, ROWS, COLS));
        assertThrows(NullPointerException.class, () -> plain(null, code, BS, absmax, ROWS, COLS));
        assertThrows(NullPointerException.class, () -> plain(packed, null, BS, absmax, ROWS, COLS));
    }

    @Test
    void sizesAndBlocksizesMustBePositive() {
        Tensor one = u8(1), code = f32(16), absmax = f32(1);
        int[][] bad = {{0, 1, 1, 1}, {1, 0, 1, 1}, {1, 1, 0, 1}, {1, 1, 1, 0}, {-1, 1, 1, 1}};
        for (int[] b : bad) {
            TesseraException e = assertThrows(TesseraException.class,
                    () -> new Packed4Bit(one, code, b[2], absmax, null, null, null, b[3], 0f, b[0], b[1]));
            assertTrue(e.getMessage().contains("must be positive"), e.getMessage());
        }
        new Packed4Bit(one, code, 1, absmax, null, null, null, 1, 0f, 1, 1); // all at 1 is fine
    }
}
