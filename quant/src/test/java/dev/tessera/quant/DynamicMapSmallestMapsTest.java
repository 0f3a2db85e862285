package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The smallest maps {@code create_dynamic_map} accepts (total_bits = 2, one exponent bit), worked
 * out by hand from bitsandbytes' algorithm: the signed map holds +-0.55 (the midpoint of
 * linspace(0.1, 1, 2)), the unsigned one 0.325 and 0.775 (the midpoints of linspace(0.1, 1, 3));
 * then 0 and 1, zeros padding to 256, sorted.
 */
class DynamicMapSmallestMapsTest {

    @Test
    void twoBitSignedMapIsMinusAndPlusPoint55ThenOne() {
        float[] map = DynamicMap.create(true, 1, 2);
        assertEquals(256, map.length);
        assertEquals(-0.55f, map[0]);
        for (int i = 1; i < 254; i++) {
            assertEquals(0f, map[i], "padding " + i);
        }
        assertEquals(0.55f, map[254]);
        assertEquals(1f, map[255]);
    }

    @Test
    void twoBitUnsignedMapHasTwoMidpointsThenOne() {
        float[] map = DynamicMap.create(false, 1, 2);
        for (int i = 0; i < 253; i++) {
            assertEquals(0f, map[i], "padding " + i);
        }
        assertEquals((0.1f + 0.55f) / 2f, map[253]);
        assertEquals((0.55f + 1f) / 2f, map[254]);
        assertEquals(1f, map[255]);
    }

    @Test
    void linspaceOfTwoAndThreeStepsHitsItsEndsExactly() {
        float[] two = DynamicMap.linspace(0.1f, 1f, 2);
        assertEquals(0.1f, two[0]);
        assertEquals(1f, two[1]);
        float[] three = DynamicMap.linspace(0.1f, 1f, 3);
        assertEquals(0.1f, three[0]);
        assertEquals(0.55f, three[1], 1e-7f);
        assertEquals(1f, three[2]);
        assertEquals(5f, DynamicMap.linspace(5f, 9f, 1)[0], "one step is the start");
    }
}
