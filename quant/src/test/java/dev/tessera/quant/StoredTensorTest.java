package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class StoredTensorTest {
    @Test
    void f32TensorsHoldLittleEndianFloats() {
        StoredTensor t = StoredTensor.f32(new float[] {1f, -2.5f, 3f, 0.5f, 7f, 8f}, 2, 3);
        assertEquals("F32", t.dtype());
        assertEquals(6, t.numel());
        assertEquals(24, t.data().length);
        assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3F}, java.util.Arrays.copyOf(t.data(), 4), "1.0f little-endian");
        assertArrayEquals(new float[] {1f, -2.5f, 3f, 0.5f, 7f, 8f}, t.toFloats());
        assertEquals("StoredTensor[F32 [2, 3], 24 bytes]", t.toString());
    }

    @Test
    void u8TensorsWrapTheirBytes() {
        byte[] bytes = {1, 2, 3};
        StoredTensor t = StoredTensor.u8(bytes, 3);
        assertEquals("U8", t.dtype());
        assertEquals(bytes, t.data());
        var e = assertThrows(IllegalStateException.class, t::toFloats);
        assertEquals("expected an F32 tensor, got U8", e.getMessage());
    }

    @Test
    void theByteCountMustMatchTheShapeAndDtype() {
        var e = assertThrows(IllegalArgumentException.class, () -> StoredTensor.u8(new byte[5], 2, 3));
        assertEquals("U8 tensor of shape [2, 3] needs 6 bytes, got 5", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new StoredTensor("F32", new long[] {2}, new byte[7]));
        var d = assertThrows(IllegalArgumentException.class, () -> new StoredTensor("BF16", new long[] {1}, new byte[2]));
        assertEquals("unsupported dtype BF16: expected F32 or U8", d.getMessage());
        var n = assertThrows(IllegalArgumentException.class, () -> StoredTensor.u8(new byte[0], 2, -1));
        assertEquals("negative dimension in shape [2, -1]", n.getMessage());
        assertThrows(ArithmeticException.class, () -> StoredTensor.numel(new long[] {1L << 40, 1L << 40}));
        assertEquals(1, StoredTensor.numel(new long[0]), "a scalar has one element");
        assertEquals(0, StoredTensor.u8(new byte[0], 4, 0).numel());
    }

    @Test
    void equalityComparesContentsNotArrays() {
        StoredTensor a = StoredTensor.u8(new byte[] {1, 2}, 2), b = StoredTensor.u8(new byte[] {1, 2}, 2);
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertNotEquals(a, StoredTensor.u8(new byte[] {1, 3}, 2));
        assertNotEquals(a, StoredTensor.u8(new byte[] {1, 2}, 1, 2));
        assertNotEquals(a.hashCode(), StoredTensor.u8(new byte[] {1, 3}, 2).hashCode());
        assertNotEquals(a, "a string");
    }
}
