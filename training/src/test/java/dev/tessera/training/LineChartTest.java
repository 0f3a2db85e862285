package dev.tessera.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LineChartTest {
    @Test
    void writesADecodablePngWithTheSeriesDrawn(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("sub/loss.png");
        new LineChart("loss", "step", "loss")
                .series("train", new double[] {0, 1, 2, 3}, new double[] {4, 3, 2.5, 2})
                .writePng(png);
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(800, img.getWidth());
        int colored = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                int rgb = img.getRGB(x, y) & 0xFFFFFF;
                if (rgb == 0x1f77b4) {
                    colored++;
                }
            }
        }
        assertTrue(colored > 100, "series pixels drawn: " + colored);
        try (var files = Files.list(png.getParent())) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void mismatchedSeriesLengthsAreRejected() {
        var chart = new LineChart("t", "x", "y");
        try {
            chart.series("bad", new double[2], new double[3]);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("bad"));
            return;
        }
        throw new AssertionError("expected an error");
    }
}
