package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class QuantTypeTest {

    @Test
    void nf4TableIsTheSpecTableInFloat32() {
        double[] spec = {-1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
            -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534,
            0.16093020141124725, 0.24611230194568634, 0.33791524171829224, 0.44070982933044434,
            0.5626170039176941, 0.7229568362236023, 1.0};
        float[] code = QuantType.NF4.code();
        for (int i = 0; i < 16; i++) {
            // The spec's numbers are float32 values printed as doubles: widening is exact.
            assertEquals(spec[i], (double) code[i], 0.0, "NF4 index " + i);
        }
    }

    @Test
    void fp4TableIsTheSpecMagnitudesOverTwelveWithBitThreeAsSign() {
        float[] magnitudes = {0f, 0.0625f, 8f, 12f, 4f, 6f, 2f, 3f};
        float[] code = QuantType.FP4.code();
        for (int i = 0; i < 8; i++) {
            assertEquals(magnitudes[i] / 12f, code[i], 0f, "FP4 index " + i);
            assertEquals(i == 0 ? 0f : -magnitudes[i] / 12f, code[i + 8], 0f, "FP4 index " + (i + 8));
        }
        // bitsandbytes builds the table from the Python int -0, so index 8 is +0.0.
        assertEquals(0, Float.floatToRawIntBits(code[8]));
    }

    @Test
    void zeroCodesAreSevenForNf4AndZeroForFp4() {
        assertEquals(7, QuantType.NF4.zeroIndex());
        assertEquals(0f, QuantType.NF4.code()[7]);
        assertEquals(0, QuantType.FP4.zeroIndex());
        assertEquals(0f, QuantType.FP4.code()[0]);
    }

    @Test
    void everyCodeValueMapsToItsOwnIndex() {
        for (QuantType t : QuantType.values()) {
            float[] code = t.code();
            for (int i = 0; i < 16; i++) {
                if (t == QuantType.FP4 && i == 8) {
                    continue; // +0.0 twice: the value 0 maps to index 0
                }
                assertEquals(i, t.nearest(code[i]), t + " code " + i);
            }
        }
    }

    @Test
    void anExactTieGoesToTheLowerIndex() {
        // Half of a code value is exact in float32 and lies exactly between it and zero.
        float[] nf4 = QuantType.NF4.code();
        assertEquals(7, QuantType.NF4.nearest(nf4[8] / 2));
        assertEquals(6, QuantType.NF4.nearest(nf4[6] / 2));
        assertEquals(8, QuantType.NF4.nearest(Math.nextUp(nf4[8] / 2)));
        float[] fp4 = QuantType.FP4.code();
        assertEquals(0, QuantType.FP4.nearest(fp4[1] / 2));
        assertEquals(1, QuantType.FP4.nearest(Math.nextUp(fp4[1] / 2)));
    }

    @Test
    void valuesBetweenCodesGoToTheNearest() {
        assertEquals(11, QuantType.NF4.nearest(0.3f));
        assertEquals(15, QuantType.NF4.nearest(0.9f));
        assertEquals(0, QuantType.NF4.nearest(-0.9f));
        assertEquals(7, QuantType.FP4.nearest(0.26f));   // 3/12
        assertEquals(4, QuantType.FP4.nearest(0.30f));   // 4/12
        assertEquals(10, QuantType.FP4.nearest(-0.7f));  // -8/12
    }

    @Test
    void fp4KeepsTheSignBitOfSmallNegativeValuesAsBitsandbytesDoes() {
        assertEquals(8, QuantType.FP4.nearest(-1e-4f));
        assertEquals(0, QuantType.FP4.nearest(1e-4f));
        assertEquals(0, QuantType.FP4.nearest(-0.0f));
        assertEquals(11, QuantType.FP4.nearest(-1f));
    }

    @Test
    void bnbNamesRoundTrip() {
        for (QuantType t : QuantType.values()) {
            assertEquals(t, QuantType.ofBnbName(t.bnbName()));
        }
        assertThrows(IllegalArgumentException.class, () -> QuantType.ofBnbName("int4"));
    }

    @Test
    void codeReturnsACopy() {
        float[] c = QuantType.NF4.code();
        c[0] = 42f;
        assertEquals(-1f, QuantType.NF4.code()[0]);
    }
}
