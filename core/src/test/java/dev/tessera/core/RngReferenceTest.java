package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The generator against the JDK's SplittableRandom, which runs the same SplitMix64 stream from the
 * same seed (gamma 0x9e3779b97f4a7c15, the same mix), and the derived draws against their
 * formulas over that stream.
 */
class RngReferenceTest {

    @Test
    void longsAndDoublesAreSplittableRandomsStream() {
        for (long seed : new long[] {0, 1, 42, -7, Long.MAX_VALUE}) {
            Rng rng = new Rng(seed);
            SplittableRandom ref = new SplittableRandom(seed);
            for (int i = 0; i < 50; i++) {
                assertEquals(ref.nextLong(), rng.nextLong(), "seed " + seed + " draw " + i);
                assertEquals(ref.nextDouble(), rng.nextDouble(), "seed " + seed + " double " + i);
            }
        }
    }

    @Test
    void floatsGaussiansNormalsAndIntegersFollowTheirFormulas() {
        SplittableRandom ref = new SplittableRandom(9);
        Rng rng = new Rng(9);
        for (int i = 0; i < 20; i++) {
            assertEquals((ref.nextLong() >>> 40) * 0x1.0p-24f, rng.nextFloat(), "float " + i);
        }
        for (int i = 0; i < 20; i++) {
            double u1 = ref.nextDouble(), u2 = ref.nextDouble();
            assertEquals(Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2), rng.nextGaussian(), 1e-12,
                    "gaussian " + i);
        }
        float[] normal = rng.normal(3f, 2f, 4, 5).toFloatArray();
        for (int i = 0; i < normal.length; i++) {
            double u1 = ref.nextDouble(), u2 = ref.nextDouble();
            double g = Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
            assertEquals(3 + 2 * g, normal[i], 1e-5, "normal " + i);
        }
        long[] ints = rng.randint(7, 3, 3).toLongArray();
        for (int i = 0; i < ints.length; i++) {
            assertEquals(Math.floorMod(ref.nextLong(), 7L), ints[i], "randint " + i);
        }
    }

    @Test
    void dropoutDropsDrawsBelowPAndKeepsADrawEqualToIt() {
        // p is the stream's first float itself: "0 with probability p" drops only draws strictly below p
        Rng draws = new Rng(5);
        float first = draws.nextFloat(), second = draws.nextFloat();
        float p = first;
        float[] mask = new Rng(5).dropoutMask(new int[] {2}, p, Device.CPU).toFloatArray();
        float keep = 1f / (1f - p);
        assertEquals(keep, mask[0], "a draw equal to p is kept");
        assertEquals(second < p ? 0f : keep, mask[1]);
        assertArrayEquals(new long[] {5, 5}, new Rng(5).state());
    }
}
