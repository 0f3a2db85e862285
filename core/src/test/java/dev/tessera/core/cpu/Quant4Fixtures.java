package dev.tessera.core.cpu;

import java.util.Random;

/** Random 4-bit weights for the kernel tests: packed codes, code tables and block scales. */
final class Quant4Fixtures {
    /** bitsandbytes' NF4 table (SPECS.md). */
    static final float[] NF4 = {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};
    /** bitsandbytes' FP4 table: {0, 0.0625, 8, 12, 4, 6, 2, 3} / 12, then the same negated (+0 at 8). */
    static final float[] FP4 = fp4();

    private Quant4Fixtures() {}

    private static float[] fp4() {
        float[] magnitudes = {0f, 0.0625f, 8f, 12f, 4f, 6f, 2f, 3f};
        float[] code = new float[16];
        for (int i = 0; i < 8; i++) {
            code[i] = magnitudes[i] / 12f;
            code[i + 8] = i == 0 ? 0f : -magnitudes[i] / 12f;
        }
        return code;
    }

    static float[] code(Random rng) {
        return rng.nextBoolean() ? NF4 : FP4;
    }

    /** (n + 1) / 2 random packed bytes. */
    static byte[] packed(long n, Random rng) {
        byte[] b = new byte[(int) ((n + 1) / 2)];
        rng.nextBytes(b);
        return b;
    }

    /** Block scales of the size a block of N(0, 1) values has (about 2.5 for 64 of them). */
    static float[] absmax(long blocks, Random rng) {
        float[] a = new float[(int) blocks];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (0.5 + 3 * rng.nextDouble());
        }
        return a;
    }

    /** Plain or double-quantized scales for {@code blocks} blocks (nested blocks of 256, an ascending map). */
    static BlockScales scales(long blocks, boolean doubleQuant, Random rng) {
        if (!doubleQuant) {
            return BlockScales.of(absmax(blocks, rng));
        }
        byte[] codes = new byte[(int) blocks];
        rng.nextBytes(codes);
        float[] map = new float[256];
        for (int i = 0; i < 256; i++) {
            map[i] = -1f + 2f * i / 255f;
        }
        float[] nested = absmax((blocks + 255) / 256, rng);
        return BlockScales.of(codes, nested, map, 256, 1f);
    }

    static float[] gaussian(int n, long seed) {
        Random rng = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        return x;
    }
}
