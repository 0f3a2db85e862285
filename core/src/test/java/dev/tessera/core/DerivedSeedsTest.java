package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import java.util.List;
import org.junit.jupiter.api.Test;

class DerivedSeedsTest {
    /** Shapes of test methods, looked at, never run as tests. */
    static class Samples {
        void direct() {
            qt().forAll(integers().all()).check(i -> true);
        }

        void throughAHelper() {
            helper();
        }

        private void helper() {
            qt().forAll(integers().all()).check(i -> true);
        }

        void inALambda() {
            Runnable r = () -> qt().forAll(integers().all()).check(i -> true);
            r.run();
        }

        void pinned() {
            qt().withFixedSeed(3).forAll(integers().all()).check(i -> true);
        }

        void plain() {
            assertEquals(2, 1 + 1);
        }
    }

    @Test
    void propertyTestsAreFoundWhereverTheyCallQt() throws Exception {
        for (String name : List.of("direct", "throughAHelper", "inALambda")) {
            assertTrue(DerivedSeeds.drawsFromTheSeed(Samples.class.getDeclaredMethod(name)), name);
        }
        assertFalse(DerivedSeeds.drawsFromTheSeed(Samples.class.getDeclaredMethod("pinned")), "a pinned seed runs once");
        assertFalse(DerivedSeeds.drawsFromTheSeed(Samples.class.getDeclaredMethod("plain")));
    }

    @Test
    void derivedSeedsAreRepeatableAndDistinct() {
        long[] seeds = DerivedSeeds.derived(20261128L, 2);
        assertArrayEquals(seeds, DerivedSeeds.derived(20261128L, 2));
        assertEquals(2, seeds.length);
        assertNotEquals(seeds[0], seeds[1]);
        assertNotEquals(20261128L, seeds[0]);
        assertNotEquals(seeds[0], DerivedSeeds.derived(20261129L, 1)[0]);
    }
}
