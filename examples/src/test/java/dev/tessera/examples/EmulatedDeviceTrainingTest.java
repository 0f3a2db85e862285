package dev.tessera.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * GPT-2-tiny trained 10 steps with {@code tessera train --device cuda} on the emulated CUDA device
 * and on the CPU: full, LoRA and QLoRA with paged 8-bit AdamW, every loss within 1e-4 relative
 * ({@code bench.DeviceTrainingCheck}). It runs in a child JVM so the emulated device never becomes
 * the default device of the other CLI tests in this JVM.
 */
class EmulatedDeviceTrainingTest {
    private static final Path EMULATOR = Path.of("../cuda-bindings/target/emulator/libtessera-cuda-emulator.so");

    @Test
    void tenStepsOnTheEmulatedDeviceMatchTheCpuForFullLoraAndQlora() throws IOException, InterruptedException {
        assumeTrue(Files.isRegularFile(EMULATOR), "the emulated CUDA device was not built (no g++?)");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process p = new ProcessBuilder(List.of(java.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-Xmx1g", "-Dtessera.cuda.emulator=" + EMULATOR.toAbsolutePath(),
                "-cp", System.getProperty("java.class.path"), "dev.tessera.examples.bench.DeviceTrainingCheck",
                CliTest.FIXTURES.resolve("gpt2-tiny").toString(), "cuda"))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "the check did not finish");
        List<String> verdicts = out.lines().filter(l -> l.matches("(full |lora |qlora) (PASS|FAIL): .*")).toList();
        assertEquals(3, verdicts.size(), out);
        assertTrue(verdicts.stream().allMatch(l -> l.contains(" PASS: ")), out);
        assertEquals(0, p.exitValue(), out);
    }
}
