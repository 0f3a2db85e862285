package dev.tessera.examples.notebook;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SimpleTrainingLoopTest {
    @Test
    void epochLossFallsAndThePlotIsWritten(@TempDir Path dir) throws Exception {
        List<Double> losses = SimpleTrainingLoop.train(6);
        assertEquals(6, losses.size());
        assertTrue(losses.get(5) < 0.6 * losses.get(0), "per-epoch loss " + losses);
        Path png = dir.resolve("loss.png");
        SimpleTrainingLoop.run(2, png);
        assertTrue(Files.size(png) > 1000);
    }
}
