package dev.tessera.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The demo is deterministic: two runs with the same seed print the same losses and generations. */
class DemoRepeatTest {
    static List<String> run(Path dir) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
            assertEquals(0, new CommandLine(new DemoCommand()).execute("--output", dir.toString(), "--steps", "4"));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        // everything but timings and the output folder: the table without its s/step column, generations, the sweep
        return out.toString(StandardCharsets.UTF_8).lines()
                .filter(l -> !l.contains(dir.toString()))
                .map(l -> l.matches("^(full|lora|qlora|ia3) .*") ? l.substring(0, l.lastIndexOf(' ')) : l)
                .toList();
    }

    @Test
    void twoRunsWithTheSameSeedAgree(@TempDir Path dir) {
        List<String> a = run(dir.resolve("a")), b = run(dir.resolve("b"));
        assertTrue(a.stream().anyMatch(l -> l.startsWith("qlora ")), String.join("\n", a));
        assertEquals(a, b);
    }
}
