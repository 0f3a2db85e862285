package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/** The {@code memory} command's table, line by line, and the value semantics of a quantized tensor. */
class QuantMemoryTextTest {
    @Test
    void theTableShowsBytesAndBitsPerWeightOfEachPart() {
        // 512 weights: 256 bytes of codes (4 bits), 8 of absmax, 40 nested -> 304 bytes, 4.75 bits
        var r = new QuantMemory.Report(2, 512, 256, 8, 40, 300, List.of("fp4, blocksize 64", "nf4, blocksize 64, double quant"));
        assertEquals("""
                4-bit linear layers: 2 (512 weights; fp4, blocksize 64; nf4, blocksize 64, double quant)
                  4-bit codes                 256 bytes   4.0000 bits/weight
                  absmax                        8 bytes   0.1250 bits/weight
                  nested stats                 40 bytes   0.6250 bits/weight
                  total                       304 bytes   4.7500 bits/weight
                  same as F32               2,048 bytes   6.74x the 4-bit bytes
                other parameters              300 bytes
                """, inRootLocale(r));
    }

    @Test
    void aModelWithoutFourBitLayersShowsOnlyItsOtherParameters() {
        var r = new QuantMemory.Report(0, 0, 0, 0, 0, 1234, List.of());
        assertEquals("""
                4-bit linear layers: 0 (0 weights; none)
                other parameters            1,234 bytes
                """, inRootLocale(r));
    }

    @Test
    void quantizedTensorsAreEqualExactlyWhenTheirBytesAndStatesAre() {
        float[] w = {0.5f, -1f, 2f, 0.25f, 3f};
        Quantized4Bit a = Quantized4Bit.quantize(w, new long[] {5}, QuantType.NF4, 64, false);
        Quantized4Bit same = Quantized4Bit.quantize(w.clone(), new long[] {5}, QuantType.NF4, 64, false);
        assertEquals(a, same);
        assertEquals(a.hashCode(), same.hashCode());
        assertNotEquals(a, Quantized4Bit.quantize(new float[] {0.5f, -1f, 2f, 0.25f, -3f}, new long[] {5}, QuantType.NF4, 64, false));
        assertNotEquals(a, Quantized4Bit.quantize(w, new long[] {5}, QuantType.FP4, 64, false));
        assertNotEquals(a, Quantized4Bit.quantize(w, new long[] {5}, QuantType.NF4, 64, true));
        assertNotEquals(a, "Quantized4Bit");
        assertTrue(a.toString().startsWith("Quantized4Bit[3 bytes, QuantState["), a.toString());
        assertTrue(a.toString().contains("absmax f32"), a.toString());

        // doubled weights: the same 4-bit codes (absmax scales them), other nested statistics
        float[] doubled = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            doubled[i] = 2 * w[i];
        }
        Quantized4Bit nested = Quantized4Bit.quantize(w, new long[] {5}, QuantType.NF4, 64, true);
        Quantized4Bit nestedDoubled = Quantized4Bit.quantize(doubled, new long[] {5}, QuantType.NF4, 64, true);
        assertEquals(nested, Quantized4Bit.quantize(w.clone(), new long[] {5}, QuantType.NF4, 64, true));
        assertNotEquals(nested, nestedDoubled);
        assertTrue(nested.toString().contains("DoubleQuant["), nested.toString());
    }

    private static String inRootLocale(QuantMemory.Report r) {
        Locale before = Locale.getDefault(Locale.Category.FORMAT);
        Locale.setDefault(Locale.Category.FORMAT, Locale.ROOT);
        try {
            return r.toText().replace(System.lineSeparator(), "\n");
        } finally {
            Locale.setDefault(Locale.Category.FORMAT, before);
        }
    }
}
