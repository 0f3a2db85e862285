package dev.tessera.quant;

import java.util.Arrays;

/**
 * The two 4-bit data types of bitsandbytes: NF4 (QLoRA's NormalFloat) and FP4 (sign bit, two
 * exponent bits, one mantissa bit). Each is a table of 16 floats in [-1, 1]; a block's values
 * are divided by the block's absmax and replaced by the index of the nearest table entry.
 *
 * <pre>{@code
 * float[] nf4 = QuantType.NF4.code();   // 16 values, index 7 is 0.0
 * int q = QuantType.NF4.nearest(0.3f);  // 11 (0.3379...)
 * }</pre>
 */
public enum QuantType {
    /** Normal-float code, sorted ascending; index 7 is 0.0 (SPECS.md, bitsandbytes' get_4bit_type). */
    NF4("nf4", new float[] {
        -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
        -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
        0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
        0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f}, 7),
    /**
     * Sign-magnitude code: index 0..7 = {0, 0.0625, 8, 12, 4, 6, 2, 3} / 12, index 8..15 the
     * same negated. Index 8 holds +0.0, as bitsandbytes' quant_map does (its table is built
     * from the Python int {@code -0}).
     */
    FP4("fp4", fp4Code(), 0);

    private final String bnbName;
    private final float[] code;
    private final int zeroIndex;
    // Nearest-entry search over the values sorted ascending (FP4: magnitudes 0..7 only).
    private final double[] thresholds;
    private final int[] sortedIndex;
    private final int[] tieIndex;

    QuantType(String bnbName, float[] code, int zeroIndex) {
        this.bnbName = bnbName;
        this.code = code;
        this.zeroIndex = zeroIndex;
        int searched = bnbName.equals("fp4") ? 8 : 16;
        Integer[] order = new Integer[searched];
        for (int i = 0; i < searched; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(code[a], code[b]));
        sortedIndex = new int[searched];
        thresholds = new double[searched - 1];
        tieIndex = new int[searched - 1];
        for (int k = 0; k < searched; k++) {
            sortedIndex[k] = order[k];
        }
        for (int k = 0; k + 1 < searched; k++) {
            // Two floats of similar magnitude sum exactly in double, so this midpoint is exact.
            thresholds[k] = ((double) code[order[k]] + code[order[k + 1]]) / 2;
            tieIndex[k] = Math.min(order[k], order[k + 1]);
        }
    }

    private static float[] fp4Code() {
        float[] magnitudes = {0f, 0.0625f, 8f, 12f, 4f, 6f, 2f, 3f};
        float[] code = new float[16];
        for (int i = 0; i < 8; i++) {
            code[i] = magnitudes[i] / 12f;
            code[i + 8] = i == 0 ? 0f : -magnitudes[i] / 12f;
        }
        return code;
    }

    /** The 16 code values, index = 4-bit code (a copy). */
    public float[] code() {
        return code.clone();
    }

    /** The name bitsandbytes uses in keys and JSON: "nf4" or "fp4". */
    public String bnbName() {
        return bnbName;
    }

    /** The code of 0.0, used for padding and for all-zero blocks: 7 for NF4, 0 for FP4. */
    public int zeroIndex() {
        return zeroIndex;
    }

    /**
     * Index of the code nearest to {@code v} (a value already divided by its absmax); on an exact
     * tie the lower index wins. FP4 keeps the sign bit of a negative {@code v} even when it rounds
     * to zero (index 8, as bitsandbytes' kernel does), so its search runs on the magnitude.
     */
    public int nearest(float v) {
        if (this == FP4) {
            int sign = v < 0 ? 8 : 0;
            return sign + nearestSorted(Math.abs(v));
        }
        return nearestSorted(v);
    }

    private int nearestSorted(float v) {
        int p = 0;
        while (p < thresholds.length && v > thresholds[p]) {
            p++;
        }
        if (p < thresholds.length && v == thresholds[p]) {
            return tieIndex[p];
        }
        return sortedIndex[p];
    }

    /** The half-width of the widest gap between neighbouring code values: the worst rounding error. */
    double halfWidestGap() {
        float[] sorted = code.clone();
        Arrays.sort(sorted);
        double widest = 0;
        for (int i = 0; i + 1 < sorted.length; i++) {
            widest = Math.max(widest, (double) sorted[i + 1] - sorted[i]);
        }
        return widest / 2;
    }

    /** The type named {@code name} ("nf4" or "fp4"), as in a bitsandbytes quant_state. */
    public static QuantType ofBnbName(String name) {
        for (QuantType t : values()) {
            if (t.bnbName.equals(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown 4-bit quant_type '" + name + "': expected nf4 or fp4");
    }

    /**
     * For a type whose code is sorted ascending (NF4): threshold k as the largest float not above
     * the exact midpoint, so that for a float {@code v}, {@code v > midpoint[k]} (compared in
     * double) holds exactly when {@code v > floatThresholds()[k]} (compared in float), and
     * {@link #nearest} is the number of thresholds below {@code v} (a tie goes to the lower
     * index, which that count gives). Null for FP4, whose search runs on the magnitude.
     */
    float[] floatThresholds() {
        for (int k = 0; k < sortedIndex.length; k++) {
            if (sortedIndex[k] != k) {
                return null;
            }
        }
        if (this == FP4) {
            return null;
        }
        float[] out = new float[thresholds.length];
        for (int k = 0; k < out.length; k++) {
            float f = (float) thresholds[k];
            out[k] = (double) f > thresholds[k] ? Math.nextDown(f) : f;
        }
        return out;
    }

    float codeAt(int index) {
        return code[index];
    }
}
