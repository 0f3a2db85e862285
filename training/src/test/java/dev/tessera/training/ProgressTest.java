package dev.tessera.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The bar's speed and ETA come from recent steps, not from an average over the JIT's warm-up. */
class ProgressTest {
    @Test
    void tokensPerSecondAndEtaFollowTheRecentSteps() {
        Progress p = new Progress(100, false);
        long t = System.nanoTime();
        // 10 slow warm-up steps (1 s each), then 20 fast ones (0.1 s each), 1000 tokens per step
        for (int s = 1; s <= 30; s++) {
            t += s <= 10 ? 1_000_000_000L : 100_000_000L;
            p.update(s, 0, 1.0, 1e-3, 1000, t);
        }
        assertEquals(10_000, p.tokensPerSecond(), 1, "the current rate, 1000 tokens per 0.1 s");
        assertEquals(7, p.etaSeconds(30), "70 steps left at 0.1 s");
        String line = p.line(30, 0.5, Double.NaN, 1e-3);
        assertTrue(line.contains("10000 tok/s") && line.contains("ETA 00:00:07") && line.contains("loss -"), line);
    }
}
