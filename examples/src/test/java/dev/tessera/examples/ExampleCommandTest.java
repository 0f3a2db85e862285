package dev.tessera.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.examples.CliTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The notebook's programs run from the CLI entry point, on small sizes. */
class ExampleCommandTest {
    private static Run ok(String... args) {
        Run r = CliTest.run(args);
        assertEquals(0, r.code(), r.err());
        return r;
    }

    @Test
    void helpListsEveryExample() {
        String help = ok("example", "--help").out();
        for (String name : List.of("lora-layer", "lora-attention", "training-loop", "rank-comparison")) {
            assertTrue(help.contains(name), name + " in: " + help);
        }
        assertTrue(CliTest.run("--help").out().contains("example"));
    }

    @Test
    void loraLayerCountsItsParametersAndMergesExactly() {
        String out = ok("example", "lora-layer", "--in", "64", "--out", "32", "--r", "4").out();
        assertTrue(out.contains("trainable:    384 parameters"), out); // r·in + out·r = 4·64 + 32·4
        assertTrue(out.contains("matrix products per forward: 3 unmerged, 1 merged"), out);
    }

    @Test
    void loraAttentionPutsLoraOnTheChosenProjections() {
        String out = ok("example", "lora-attention", "--d-model", "32", "--heads", "4", "--r", "2", "--projections", "q,k").out();
        assertTrue(out.matches("(?s).*q_proj\\s+LoRA.*k_proj\\s+LoRA.*v_proj\\s+frozen.*o_proj\\s+frozen.*"), out);
        assertTrue(out.contains("trainable params: 256 ||"), out); // 2 projections × r·(32 + 32)
    }

    @Test
    void trainingLoopPrintsEachEpochAndDrawsTheCurve(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("loop.png");
        String out = ok("example", "training-loop", "--epochs", "2", "--output", png.toString()).out();
        assertTrue(out.contains("epoch 1: mean loss") && out.contains("epoch 2: mean loss"), out);
        assertTrue(Files.size(png) > 1000);
    }

    @Test
    void rankComparisonTrainsEveryRankAndAHigherRankHasMoreParameters() {
        String out = ok("example", "rank-comparison", "--ranks", "1,4", "--steps", "12", "--d-model", "64").out();
        assertTrue(out.contains("128") && out.contains("512"), out); // r·(64 + 64) for r = 1 and 4
        Matcher m = Pattern.compile("(?m)^\\s+(\\d+)\\s+([\\d,]+)\\s+[\\d.]+%\\s+([\\d.]+)\\s+([\\d.]+)\\s+([\\d.]+)$").matcher(out);
        long previous = 0;
        int rows = 0;
        while (m.find()) {
            long trainable = Long.parseLong(m.group(2).replace(",", ""));
            assertTrue(trainable > previous, out);
            assertTrue(Double.parseDouble(m.group(4)) < Double.parseDouble(m.group(3)), "the final loss is below the first: " + out);
            previous = trainable;
            rows++;
        }
        assertEquals(2, rows, out);
    }

    @Test
    void badValuesAreOneLineUsageErrors() {
        Run r = CliTest.run("example", "lora-attention", "--d-model", "30", "--heads", "4");
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("--heads 4 must divide --d-model 30"), r.err());
        assertEquals(2, CliTest.run("example", "rank-comparison", "--ranks", "0").code());
        assertEquals(2, CliTest.run("example", "nope").code());
    }

    @Test
    void benchLinear4bitRunsOnAFewTokens() {
        String out = ok("bench", "linear4bit", "--tokens", "4", "--repeat", "1").out();
        assertTrue(out.contains("Linear4bit (NF4, blocksize 64, double quant) vs F32 Linear"), out);
        assertTrue(out.contains("[768, 3072]"), out);
    }
}
