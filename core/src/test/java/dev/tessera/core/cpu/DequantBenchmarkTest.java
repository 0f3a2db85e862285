package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

import org.junit.jupiter.api.Test;

class DequantBenchmarkTest {

    @Test
    void benchmarkRunsAndChecksItsOutputOnASmallTensor() {
        assertDoesNotThrow(() -> DequantBenchmark.main(new String[] {"100000", "2"}));
    }
}
