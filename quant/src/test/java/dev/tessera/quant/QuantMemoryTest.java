package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class QuantMemoryTest {

    @Test
    void plainAbsmaxCostsHalfABitPerWeight() {
        assertEquals(4.5, QuantMemory.bitsPerWeight(4096L * 4096, 64, false), 0.0);
        assertEquals(4.25, QuantMemory.bitsPerWeight(4096L * 4096, 128, false), 0.0);
    }

    @Test
    void doubleQuantizationCostsAbout0point127BitsPerWeight() {
        double expected = 4 + 8.0 / 64 + 32.0 / (64 * 256);
        assertEquals(expected, QuantMemory.bitsPerWeight(4096L * 4096, 64, true), 1e-5);
    }

    @Test
    void aPartialLastBlockStillCostsAWholeAbsmax() {
        assertEquals(1 + 4, QuantMemory.storageBytes(1, 64, false));
        assertEquals(33 + 8, QuantMemory.storageBytes(65, 64, false));
        assertEquals(33 + 2 + 4 + 4, QuantMemory.storageBytes(65, 64, true));
    }

    @Test
    void measuredDoubleQuantOverheadOfASavedLayerIs0point127Bits() {
        long n = 1024 * 1024;
        Quantized4Bit q = Quantized4Bit.quantize(Quantized4BitTest.gaussian((int) n, 8), new long[] {1024, 1024},
                QuantType.NF4, 64, true);
        Map<String, StoredTensor> t = q.toTensors("w");
        // The nested offset travels in the JSON: 4 bytes of float32.
        long bytes = t.get("w").data().length + t.get("w.absmax").data().length
                + t.get("w.nested_absmax").data().length + 4;
        double overhead = 8.0 * bytes / n - 4;
        System.out.printf("double-quantized overhead: %.5f bits per weight%n", overhead);
        assertEquals(0.127, overhead, 0.0005);
        assertEquals(QuantMemory.storageBytes(n, 64, true), bytes);
    }
}
