package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DTypeTest {
    @Test
    void sizesAndKindsAreThoseOfSafetensors() {
        int[] sizes = {4, 2, 2, 8, 4, 1, 1};
        boolean[] floating = {true, true, true, false, false, false, false};
        DType[] all = DType.values();
        assertEquals(7, all.length);
        for (int i = 0; i < all.length; i++) {
            assertEquals(sizes[i], all[i].byteSize(), all[i].name());
            assertEquals(floating[i], all[i].isFloating(), all[i].name());
            assertEquals(all[i].name(), all[i].safetensorsName());
        }
    }

    @Test
    void bf16IsTheTopHalfOfAFloatRoundedToNearestEven() {
        assertEquals((short) 0x3F80, DType.floatToBf16(1f));
        assertEquals((short) 0xBF80, DType.floatToBf16(-1f));
        assertEquals(-1f, DType.bf16ToFloat((short) 0xBF80), "the sign bit survives widening");
        assertEquals(1f, DType.bf16ToFloat((short) 0x3F80));
        // 1 + 2^-8 is halfway between BF16 1 (even) and 1 + 2^-7: rounds down to even.
        assertEquals((short) 0x3F80, DType.floatToBf16(Float.intBitsToFloat(0x3F808000)));
        // 1 + 3*2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: rounds up to even.
        assertEquals((short) 0x3F82, DType.floatToBf16(Float.intBitsToFloat(0x3F818000)));
        assertEquals((short) 0x3F81, DType.floatToBf16(Float.intBitsToFloat(0x3F808001)), "above halfway rounds up");
        assertEquals((short) 0x3F80, DType.floatToBf16(Float.intBitsToFloat(0x3F807FFF)), "below halfway rounds down");
        assertEquals((short) 0x7F80, DType.floatToBf16(Float.POSITIVE_INFINITY));
        assertEquals((short) 0x7F80, DType.floatToBf16(Float.intBitsToFloat(0x7F7FFFFF)), "the largest float overflows to inf");
    }

    @Test
    void bf16KeepsNaNQuietEvenWhenItsPayloadIsInTheDroppedHalf() {
        short bits = DType.floatToBf16(Float.intBitsToFloat(0x7F800001));   // signalling NaN, payload only in the low half
        assertEquals((short) 0x7FC0, bits);
        assertTrue(Float.isNaN(DType.bf16ToFloat(bits)));
        assertEquals((short) 0xFFC1, DType.floatToBf16(Float.intBitsToFloat(0xFF81FFFF)), "sign and high payload kept");
    }

    @Test
    void f16RoundTripsItsValuesAndRoundsToNearestEven() {
        assertEquals((short) 0x3C00, DType.floatToF16(1f));
        assertEquals(1f, DType.f16ToFloat((short) 0x3C00));
        assertEquals(65504f, DType.f16ToFloat(DType.floatToF16(65504f)));
        assertEquals((short) 0x3C00, DType.floatToF16(1f + 0x1p-11f), "halfway rounds to even");
        assertEquals(-2.5f, DType.f16ToFloat(DType.floatToF16(-2.5f)));
    }
}
