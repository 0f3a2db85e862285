package dev.tessera.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The ./tessera launcher keeps the JVM's incubator-module notice off stderr: an error is one line. */
class LauncherTest {
    @Test
    void anErrorThroughTheLauncherIsOneLine() throws Exception {
        Path launcher = Path.of("../tessera").toAbsolutePath().normalize();
        assertTrue(Files.isExecutable(launcher), launcher.toString());
        ProcessBuilder pb = new ProcessBuilder("bash", launcher.toString(), "train", "--batchsize", "4");
        pb.environment().put("TESSERA_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.redirectErrorStream(false);
        Path err = Files.createTempFile("tessera-launcher", ".err");
        try {
            pb.redirectError(err.toFile());
            pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
            Process p = pb.start();
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "launcher finished");
            String stderr = Files.readString(err, StandardCharsets.UTF_8);
            assertEquals(2, p.exitValue(), stderr);
            assertEquals(1, stderr.strip().lines().count(), "one line, no incubator notice:\n" + stderr);
            assertTrue(stderr.startsWith("tessera: unknown option '--batchsize'"), stderr);
        } finally {
            Files.deleteIfExists(err);
        }
    }
}
