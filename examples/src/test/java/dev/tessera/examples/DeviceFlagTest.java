package dev.tessera.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.tessera.core.Backends;
import dev.tessera.core.Device;
import dev.tessera.examples.CliTest.Run;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CLI.md's --device contract on a machine without a usable GPU (these tests abort where one is present). */
class DeviceFlagTest {
    private static final String MODEL = CliTest.FIXTURES.resolve("gpt2-tiny").toString();
    private Path data;

    @BeforeEach
    void noGpu(@TempDir Path dir) throws IOException {
        assumeFalse(Backends.isAvailable(Device.cuda(0)), "a usable GPU is present");
        data = dir.resolve("rows.jsonl");
        Files.writeString(data, "{\"input_ids\": [1, 2, 3, 4, 5, 6]}\n");
    }

    @Test
    void withoutDeviceTheCommandRunsOnTheCpuAfterAOneLineNotice() {
        Run r = CliTest.run("score", "--model", MODEL, "--data", data.toString(), "--format", "tokens");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("{\"loss\": "), r.out());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("tessera: note: running on the CPU (")).count(), r.err());
    }

    @Test
    void explicitCudaWithoutAGpuIsAOneLineErrorWithExitOne() {
        for (String command : new String[] {"score", "generate", "train"}) {
            Run r = switch (command) {
                case "score" -> CliTest.run("score", "--model", MODEL, "--data", data.toString(), "--format", "tokens",
                        "--device", "cuda");
                case "generate" -> CliTest.run("generate", "--model", MODEL, "--prompt-ids", "[1, 2]", "--max-new-tokens",
                        "2", "--device", "cuda");
                default -> CliTest.run("train", "--model", MODEL, "--data", data.toString(), "--format", "tokens",
                        "--output", data.resolveSibling("out").toString(), "--max-steps", "1", "--device", "cuda");
            };
            assertEquals(1, r.code(), command + ": " + r.err());
            assertEquals("", r.out(), command);
            assertEquals(1, r.err().lines().count(), command + ": " + r.err());
            assertTrue(r.err().startsWith("tessera: --device cuda: "), command + ": " + r.err());
        }
    }

    @Test
    void explicitCpuRunsWithoutANotice() {
        Run r = CliTest.run("generate", "--model", MODEL, "--prompt-ids", "[1, 2]", "--max-new-tokens", "2", "--print-ids",
                "--device", "cpu");
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.err());
    }

    @Test
    void anUnknownDeviceIsAUsageError() {
        Run r = CliTest.run("bench", "gemm", "--m", "4", "--n", "4", "--k", "4", "--device", "tpu");
        assertEquals(2, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
    }
}
