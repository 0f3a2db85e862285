package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class DynamicMapTest {

    @Test
    void signedMapEqualsBitsandbytesBitForBit() throws IOException {
        float[] expected = bnbSignedMap();
        float[] map = DynamicMap.signed();
        assertEquals(256, expected.length);
        for (int i = 0; i < 256; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(map[i]),
                    "index " + i + ": expected " + expected[i] + ", got " + map[i]);
        }
    }

    @Test
    void signedMapSpansMinus099296875ToOne() {
        float[] map = DynamicMap.signed();
        assertEquals(-0.99296875, map[0], 1e-7);
        assertEquals(0f, map[127]);
        assertEquals(1f, map[255]);
    }

    @Test
    void signedMapMirrorsAroundZeroBelowOne() {
        float[] map = DynamicMap.signed();
        for (int i = 0; i < 255; i++) {
            assertEquals(-map[254 - i], map[i], 0f, "index " + i);
        }
    }

    @Test
    void unsignedMapRisesStrictlyFromZeroToOne() {
        float[] map = DynamicMap.unsigned();
        assertEquals(256, map.length);
        assertEquals(0f, map[0]);
        assertEquals(1f, map[255]);
        for (int i = 0; i < 255; i++) {
            assertTrue(map[i] < map[i + 1], "index " + i);
        }
        // Top exponent: midpoints of linspace(0.1, 1, 129), the last one 1 - 0.9/256.
        assertEquals(1 - 0.9 / 256, map[254], 1e-7);
        // Bottom exponent: midpoints of linspace(0.1, 1, 3) scaled by 1e-6.
        assertEquals(0.325e-6, map[1], 1e-12);
        assertEquals(0.775e-6, map[2], 1e-12);
    }

    @Test
    void linspaceMatchesTorchAtTheEnds() {
        float[] x = DynamicMap.linspace(0.1f, 1f, 65);
        assertEquals(0.1f, x[0]);
        assertEquals(1f, x[64]);
        assertEquals(1, DynamicMap.linspace(0.1f, 1f, 1).length);
    }

    @Test
    void mapsAreCopies() {
        float[] map = DynamicMap.signed();
        map[0] = 7f;
        assertEquals(-0.99296875, DynamicMap.signed()[0], 1e-7);
    }

    static float[] bnbSignedMap() throws IOException {
        List<Float> values = new ArrayList<>();
        try (var in = DynamicMapTest.class.getResourceAsStream("bnb_dynamic_map_signed.txt");
             var reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = reader.readLine()) != null; ) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    values.add((float) Double.parseDouble(line.trim()));
                }
            }
        }
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i);
        }
        return out;
    }

    /**
     * create() called directly, not through the maps the class built when it loaded, so a change
     * to it cannot hide behind an initializer that already ran (mutation testing).
     */
    @Test
    void createBuildsTheMapsAgainAndRefusesBadBitCounts() throws IOException {
        float[] expected = bnbSignedMap();
        float[] signed = DynamicMap.create(true, 7, 8);
        for (int i = 0; i < 256; i++) {
            assertEquals(Float.floatToRawIntBits(expected[i]), Float.floatToRawIntBits(signed[i]), "signed index " + i);
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(DynamicMap.unsigned(), DynamicMap.create(false, 7, 8));
        // Fewer exponent bits leave linear "additional items" at the top exponent's scale.
        float[] linear = DynamicMap.create(true, 4, 8);
        assertEquals(256, linear.length);
        assertEquals(1f, linear[255]);
        for (int i = 0; i < 255; i++) {
            assertEquals(-linear[254 - i], linear[i], 0f, "4 exponent bits, index " + i);
        }
        int[][] bad = {{0, 8}, {8, 8}, {7, 9}, {1, 1}};
        for (int[] b : bad) {
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> DynamicMap.create(true, b[0], b[1]));
            assertEquals("dynamic map needs 1 <= max_exponent_bits < total_bits <= 8, got " + b[0] + " and " + b[1],
                    e.getMessage());
        }
    }
}
