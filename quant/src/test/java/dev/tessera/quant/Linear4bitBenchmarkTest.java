package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

import org.junit.jupiter.api.Test;

class Linear4bitBenchmarkTest {

    @Test
    void benchmarkRunsOnAFewTokens() {
        assertDoesNotThrow(() -> Linear4bitBenchmark.main(new String[] {"4", "1"}));
    }
}
