package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The bucketed nearest-entry lookup of the 8-bit codes against a plain binary search. */
class Blockwise8Test {

    /** The reference: first entry >= v by binary search, then the nearer neighbour, lowest index on ties. */
    private static int nearestBySearch(float[] map, float v) {
        int hi = lowerBound(map, v);
        if (hi == 0) {
            return 0;
        }
        if (hi == map.length) {
            return lowerBound(map, map[map.length - 1]);
        }
        double below = (double) v - map[hi - 1];
        double above = (double) map[hi] - v;
        return below <= above ? lowerBound(map, map[hi - 1]) : hi;
    }

    private static int lowerBound(float[] map, float v) {
        int lo = 0, hi = map.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (map[mid] < v) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    /** A map shaped like bitsandbytes' dynamic map: entries dense near zero, log-spaced decades. */
    private static float[] dynamicLike(boolean signed) {
        float[] map = new float[256];
        int i = 0;
        for (int decade = 0; decade < 7 && i < 256; decade++) {
            int count = signed ? 1 << Math.min(decade, 5) : 1 << Math.min(decade + 1, 6);
            float hi = (float) Math.pow(10, -6 + decade);
            for (int j = 0; j < count && i < 256; j++) {
                float v = hi * (0.1f + 0.9f * (j + 1) / count);
                map[i++] = v;
                if (signed && i < 256) {
                    map[i++] = -v;
                }
            }
        }
        while (i < 256) {
            map[i++] = signed ? -1f + 0.001f * i : 0f;
        }
        map[255] = 1f;
        Arrays.sort(map);
        return map;
    }

    /** 256 sorted entries in [-1, 1] with repeats, so ties and equal entries occur. */
    private static float[] randomMap(long seed) {
        Random r = new Random(seed);
        float[] map = new float[256];
        for (int i = 0; i < map.length; i++) {
            map[i] = i > 0 && r.nextInt(8) == 0 ? map[i - 1] : (float) (r.nextDouble() * 2 - 1) * (r.nextBoolean() ? 1 : 1e-4f);
        }
        Arrays.sort(map);
        return map;
    }

    private static void agreesEverywhere(float[] map, long seed) {
        Blockwise8.Codebook book = Blockwise8.Codebook.of(map);
        Random r = new Random(seed);
        for (int t = 0; t < 20_000; t++) {
            float v = switch (t % 5) {
                case 0 -> Float.intBitsToFloat(r.nextInt()); // any bit pattern: NaN, infinities, subnormals
                case 1 -> (float) (r.nextDouble() * 2 - 1);
                case 2 -> map[r.nextInt(256)];
                case 3 -> { // midpoints, where the tie rule decides
                    int j = r.nextInt(255);
                    yield (map[j] + map[j + 1]) / 2;
                }
                default -> Math.nextAfter(map[r.nextInt(256)], r.nextBoolean() ? 2.0 : -2.0);
            };
            assertEquals(nearestBySearch(map, v), book.nearest(v), () -> "v = " + v);
        }
        for (float v : new float[] {0f, -0f, 1f, -1f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE}) {
            assertEquals(nearestBySearch(map, v), book.nearest(v), () -> "v = " + v);
        }
    }

    @Test
    void bucketedLookupEqualsBinarySearchOnDynamicMaps() {
        agreesEverywhere(dynamicLike(true), 1);
        agreesEverywhere(dynamicLike(false), 2);
    }

    @Test
    void bucketedLookupEqualsBinarySearchOnRandomMapsWithRepeats() {
        qt().withExamples(20).forAll(integers().all()).checkAssert(seed -> agreesEverywhere(randomMap(seed), seed));
    }

    @Test
    void codebooksOfTheSameEntriesAreShared() {
        float[] map = dynamicLike(true);
        assertEquals(System.identityHashCode(Blockwise8.Codebook.of(map)), System.identityHashCode(Blockwise8.Codebook.of(map.clone())));
    }
}
