package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.fail;

/** Approximate comparison of float arrays for tests: |a - e| <= atol + rtol * |e| everywhere. */
public final class Close {
    private Close() {}

    public static void assertClose(float[] expected, float[] actual, double atol, double rtol, String what) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + " != expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (Double.isNaN(e) && Double.isNaN(a) || a == e) {
                continue;   // a == e also for equal infinities, whose difference is NaN
            }
            if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
                fail(what + ": element " + i + " is " + a + ", expected " + e + " (atol " + atol + ", rtol " + rtol + ")");
            }
        }
    }

    /** Largest |a - e| relative to the largest |e| (for scale-relative tolerances). */
    public static double maxRelativeToScale(float[] expected, float[] actual) {
        double scale = 1e-30, err = 0;
        for (int i = 0; i < expected.length; i++) {
            scale = Math.max(scale, Math.abs(expected[i]));
            err = Math.max(err, Math.abs(expected[i] - actual[i]));
        }
        return err / scale;
    }
}
