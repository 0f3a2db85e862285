package dev.tessera.quant;

import java.util.Arrays;

/**
 * bitsandbytes' 8-bit dynamic quantization maps ({@code create_dynamic_map} in
 * bitsandbytes/functional.py): 256 sorted float32 values whose spacing shrinks by 10x per
 * "exponent", so small magnitudes keep relative precision. The signed map spans
 * [-0.99296875, 1.0] and quantizes double-quantized absmax values and Adam's first moment; the
 * unsigned map spans [0, 1] and quantizes Adam's second moment.
 *
 * <pre>{@code
 * float[] signed = DynamicMap.signed();     // signed[127] == 0f, signed[255] == 1f
 * float[] unsigned = DynamicMap.unsigned(); // unsigned[0] == 0f
 * }</pre>
 */
public final class DynamicMap {
    private static final float[] SIGNED = create(true, 7, 8);
    private static final float[] UNSIGNED = create(false, 7, 8);

    private DynamicMap() {}

    /** {@code create_dynamic_map(signed=True)} (a copy). */
    public static float[] signed() {
        return SIGNED.clone();
    }

    /** {@code create_dynamic_map(signed=False)} (a copy). */
    public static float[] unsigned() {
        return UNSIGNED.clone();
    }

    /**
     * {@code create_dynamic_map(signed, max_exponent_bits, total_bits)}, reproduced in float32
     * as PyTorch computes it on the CPU. For each exponent i in [0, max_exponent_bits) the
     * midpoints of {@code linspace(0.1, 1, k + 1)} are scaled by 10^(i - max_exponent_bits + 1)
     * (and mirrored when signed), where k = 2^(i + total_bits - 1 - max_exponent_bits), doubled
     * when unsigned; then 0 and 1 are added, zeros pad to 256 and the list is sorted.
     */
    static float[] create(boolean signed, int maxExponentBits, int totalBits) {
        if (totalBits < 2 || totalBits > 8 || maxExponentBits < 1 || maxExponentBits > totalBits - 1) {
            throw new IllegalArgumentException("dynamic map needs 1 <= max_exponent_bits < total_bits <= 8, got "
                    + maxExponentBits + " and " + totalBits);
        }
        int nonSignBits = totalBits - 1;
        int additionalItems = (1 << (nonSignBits - maxExponentBits)) - 1;
        float[] data = new float[256];
        int n = 0;
        float lastScale = 0;
        for (int i = 0; i < maxExponentBits; i++) {
            int fractionItems = signed
                    ? (1 << (i + nonSignBits - maxExponentBits)) + 1
                    : (1 << (i + nonSignBits - maxExponentBits + 1)) + 1;
            lastScale = powerOfTen(i - (maxExponentBits - 1));
            n = appendScaledMidpoints(data, n, fractionItems, lastScale, signed);
        }
        if (additionalItems > 0) {
            // bitsandbytes reuses the last exponent's scale here (its loop variable leaks out).
            n = appendScaledMidpoints(data, n, additionalItems + 1, lastScale, signed);
        }
        data[n++] = 0f;
        data[n++] = 1f;
        if (n != 1 << totalBits) {
            throw new IllegalStateException("dynamic map has " + n + " values, expected " + (1 << totalBits));
        }
        // The remaining entries stay 0f: bitsandbytes pads with zeros to 256 before sorting.
        Arrays.sort(data);
        return data;
    }

    private static int appendScaledMidpoints(float[] data, int n, int steps, float scale, boolean signed) {
        float[] boundaries = linspace(0.1f, 1f, steps);
        for (int j = 0; j + 1 < steps; j++) {
            float mean = (boundaries[j] + boundaries[j + 1]) / 2f;
            data[n++] = scale * mean;
            if (signed) {
                data[n++] = -scale * mean;
            }
        }
        return n;
    }

    /**
     * {@code torch.linspace(start, end, steps)} in float32 as PyTorch's CPU kernel computes it:
     * step = (end - start) / (steps - 1); the first half counts up from start, the second half
     * down from end, each a single fused multiply-add. Checked against the map bitsandbytes
     * produces (all 256 values of the signed map agree bit for bit; without the fused
     * multiply-add 42 of them differ in the last bit).
     */
    static float[] linspace(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        for (int i = 0; i < steps; i++) {
            out[i] = i < halfway
                    ? Math.fma(step, (float) i, start)
                    : Math.fma(-step, (float) (steps - i - 1), end);
        }
        return out;
    }

    /** Python's {@code 10 ** e} (a double) converted to float32, as torch does with a scalar operand. */
    private static float powerOfTen(int e) {
        return (float) Double.parseDouble("1e" + e);
    }
}
