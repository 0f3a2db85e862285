package dev.tessera.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The demo as a fresh clone runs it (default settings): every method's eval loss at least 60%
 * below its first loss (the margin the README states), generations before and after, the rank
 * sweep's table and PNG, and charts with nice ticks.
 */
class DemoTest {
    /** The README's promise: eval loss ≤ 40% of the first loss for every method. */
    static final double MARGIN = 0.60;

    @Test
    void theDemoTellsTheNotebooksStory(@TempDir Path dir) throws Exception {
        DemoCommand demo = new DemoCommand();
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            code = new CommandLine(demo).execute("--output", dir.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        Map<String, double[]> firstAndEval = new TreeMap<>();
        for (String line : text.lines().toList()) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 11 && List.of("full", "lora", "qlora", "ia3").contains(f[0])) {
                firstAndEval.put(f[0], new double[] {Double.parseDouble(f[6]), Double.parseDouble(f[8])});
            }
        }
        assertEquals(4, firstAndEval.size(), "a table row per method:\n" + text);
        firstAndEval.forEach((method, fe) ->
                assertTrue(fe[1] <= (1 - MARGIN) * fe[0], method + ": eval " + fe[1] + " vs first " + fe[0] + "\n" + text));
        assertTrue(text.contains("Generations") && text.contains(" -> "), text);
        for (String method : List.of("full", "lora", "qlora", "ia3")) {
            assertTrue(text.lines().filter(l -> l.trim().startsWith(method + " ") && l.contains(" -> ")).count() >= 2, method + " generations");
            assertTrue(Files.exists(dir.resolve(method).resolve("metrics.jsonl")), method);
        }
        for (int r : DemoCommand.SWEEP_RANKS) {
            assertTrue(text.lines().anyMatch(l -> l.trim().startsWith(r + " ")), "rank " + r + " in the sweep table");
        }
        assertTrue(Files.size(dir.resolve("loss.png")) > 1000 && Files.size(dir.resolve("rank-sweep.png")) > 1000);
        for (var chart : List.of(demo.lossChart, demo.sweepChart)) {
            for (String l : chart.xTickLabels()) {
                assertFalse(l.contains("."), "integer x ticks: " + chart.xTickLabels());
            }
            for (String l : chart.yTickLabels()) {
                BigDecimal d = new BigDecimal(l).stripTrailingZeros();
                assertTrue(d.signum() == 0 || d.precision() <= 3, "≤ 3 significant digits: " + chart.yTickLabels());
            }
        }
    }

    @Test
    void theReadmeStatesTheMarginThisTestChecks() throws Exception {
        String readme = Files.readString(Path.of("../README.md"));
        assertTrue(readme.contains("at least **" + Math.round(MARGIN * 100) + "%**"), "README states the margin");
    }

    @Test
    void theMemoryChartHasNiceTicks() {
        List<MemoryCommand.Row> rows = new java.util.ArrayList<>();
        for (String size : List.of("7B", "13B", "70B")) {
            rows.addAll(MemoryCommand.rows(MemoryCommand.shape(size), 8, List.of("q_proj", "v_proj")));
        }
        List<String> ticks = MemoryCommand.chart(rows).valueTickLabels();
        assertEquals("0", ticks.get(0), ticks.toString());
        for (String l : ticks) {
            BigDecimal d = new BigDecimal(l).stripTrailingZeros();
            assertTrue(d.signum() == 0 || d.precision() <= 3, ticks.toString());
        }
    }
}
