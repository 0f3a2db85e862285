package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.booleans;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import java.util.Random;
import org.junit.jupiter.api.Test;

class Blockwise8BitTest {

    @Test
    void absmaxIsTheLargestMagnitudePerBlock() {
        float[] x = {0.5f, -2f, 1f, 3f, -0.25f};
        byte[] codes = new byte[5];
        float[] absmax = new float[Blockwise8Bit.blocks(5, 2)];
        Blockwise8Bit.quantize(x, DynamicMap.signed(), 2, codes, absmax);
        assertEquals(3, absmax.length);
        assertEquals(2f, absmax[0]);
        assertEquals(3f, absmax[1]);
        assertEquals(0.25f, absmax[2]);
    }

    @Test
    void theBlockMaximumGetsTheExtremeCode() {
        byte[] codes = new byte[3];
        Blockwise8Bit.quantize(new float[] {0.5f, -2f, 2f}, DynamicMap.signed(), 256, codes, new float[1]);
        // -2 / 2 = -1 lies below the map's smallest value -0.99296875: index 0; +1 is index 255.
        assertEquals(0, codes[1] & 0xFF);
        assertEquals(255, codes[2] & 0xFF);
    }

    @Test
    void aZeroBlockDecodesToZeros() {
        float[] x = new float[300];
        byte[] codes = new byte[300];
        float[] absmax = new float[2];
        float[] map = DynamicMap.signed();
        Blockwise8Bit.quantize(x, map, 256, codes, absmax);
        assertEquals(0f, absmax[0]);
        assertEquals(127, codes[0] & 0xFF);
        float[] back = new float[300];
        Blockwise8Bit.dequantize(codes, absmax, map, 256, back);
        for (float v : back) {
            assertEquals(0f, v, 0f);
        }
    }

    @Test
    void nearestPicksTheCloserNeighbourAndTheLowerIndexOnATie() {
        float[] map = DynamicMap.signed();
        assertEquals(127, Blockwise8Bit.nearest(map, 0f));
        assertEquals(255, Blockwise8Bit.nearest(map, 1f));
        assertEquals(0, Blockwise8Bit.nearest(map, -1f));
        assertEquals(200, Blockwise8Bit.nearest(map, map[200]));
        float between = (float) (((double) map[200] + map[201]) / 2);
        if (between == ((double) map[200] + map[201]) / 2) {
            assertEquals(200, Blockwise8Bit.nearest(map, between));
        }
        assertEquals(201, Blockwise8Bit.nearest(map, Math.nextUp(Math.nextUp(between))));
    }

    @Test
    void nearestAmongEqualEntriesIsTheFirst() {
        float[] map = new float[256];
        for (int i = 0; i < 256; i++) {
            map[i] = i < 100 ? -1f + i / 100f : (i < 156 ? 0f : (i - 155) / 100f);
        }
        assertEquals(100, Blockwise8Bit.nearest(map, 0f));
        assertEquals(100, Blockwise8Bit.nearest(map, 0.001f));
    }

    @Test
    void roundTripErrorIsWithinHalfTheLocalGapTimesAbsmax() {
        float[] signed = DynamicMap.signed();
        float[] unsigned = DynamicMap.unsigned();
        qt().withFixedSeed(8).withExamples(100)
                .forAll(integers().between(1, 2000), integers().between(0, 12), booleans().all(), longs().all())
                .checkAssert((n, log2bs, isSigned, seed) -> {
                    Random rng = new Random(seed);
                    float[] map = isSigned ? signed : unsigned;
                    float[] x = new float[n];
                    for (int i = 0; i < n; i++) {
                        float v = (float) (rng.nextGaussian() * Math.exp(rng.nextGaussian() * 3));
                        x[i] = isSigned ? v : Math.abs(v);
                    }
                    int bs = 1 << log2bs;
                    byte[] codes = new byte[n];
                    float[] absmax = new float[Blockwise8Bit.blocks(n, bs)];
                    Blockwise8Bit.quantize(x, map, bs, codes, absmax);
                    float[] back = new float[n];
                    Blockwise8Bit.dequantize(codes, absmax, map, bs, back);
                    for (int i = 0; i < n; i++) {
                        int q = codes[i] & 0xFF;
                        double a = absmax[i / bs];
                        double v = x[i] / a;
                        // The chosen entry is at least as close as both neighbours of it.
                        double d = Math.abs(v - map[q]);
                        if (q > 0) {
                            assertTrue(d <= Math.abs(v - map[q - 1]) + 1e-7, "left of " + q);
                        }
                        if (q < 255) {
                            assertTrue(d <= Math.abs(v - map[q + 1]) + 1e-7, "right of " + q);
                        }
                        assertEquals(map[q] * absmax[i / bs], back[i], 0f);
                    }
                });
    }

    @Test
    void rejectsNonFiniteInputsAndUnsortedMaps() {
        float[] map = DynamicMap.signed();
        assertThrows(IllegalArgumentException.class,
                () -> Blockwise8Bit.quantize(new float[] {Float.NaN}, map, 256, new byte[1], new float[1]));
        float[] unsorted = map.clone();
        unsorted[3] = 0.5f;
        assertThrows(IllegalArgumentException.class,
                () -> Blockwise8Bit.quantize(new float[] {1f}, unsorted, 256, new byte[1], new float[1]));
        assertThrows(IllegalArgumentException.class,
                () -> Blockwise8Bit.quantize(new float[] {1f}, map, 256, new byte[1], new float[2]));
    }
}
