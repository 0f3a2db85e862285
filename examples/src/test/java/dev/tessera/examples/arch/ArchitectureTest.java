package dev.tessera.examples.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ARCHITECTURE.md: nothing outside core imports dev.tessera.core.cpu; all computation goes through the Backend SPI. */
class ArchitectureTest {

    @Test
    void noModuleButCoreNamesTheCpuBackendPackage() {
        Path root = Path.of("").toAbsolutePath().getParent();   // Surefire runs in the module's folder
        assertTrue(Files.isRegularFile(root.resolve("core/pom.xml")), "repository root not found from " + root);
        assertEquals(List.of(), CpuBackendReferences.outsideCore(root));
    }

    @Test
    void theCheckReportsImportsStaticImportsAndQualifiedNamesButNotCoreItself(@TempDir Path root) throws IOException {
        module(root, "core", "dev/tessera/core/cpu/Gemm.java", "package dev.tessera.core.cpu;\nclass Gemm {}\n");
        module(root, "quant", "dev/tessera/quant/Bad.java",
                "package dev.tessera.quant;\nimport dev.tessera.core.cpu.Gemm;\nclass Bad {}\n");
        module(root, "training", "dev/tessera/training/AlsoBad.java", """
                package dev.tessera.training;
                import static dev.tessera.core.cpu.Parallel.threads;
                class AlsoBad { int t = dev.tessera.core.cpu.Parallel.threads(); }
                """);
        module(root, "nn", "dev/tessera/nn/Fine.java", """
                package dev.tessera.nn;
                import dev.tessera.core.Backends;
                /** Not dev.tessera.core.cpu.Gemm: comments, "dev.tessera.core.cpu" strings and text blocks do not count. */
                class Fine { String s = "dev.tessera.core.cpu.Parallel"; char q = '"'; // dev.tessera.core.cpu
                }
                """);
        List<String> found = CpuBackendReferences.outsideCore(root);
        assertEquals(List.of(
                "quant/src/main/java/dev/tessera/quant/Bad.java:2: import dev.tessera.core.cpu.Gemm;",
                "training/src/main/java/dev/tessera/training/AlsoBad.java:2: import static dev.tessera.core.cpu.Parallel.threads;",
                "training/src/main/java/dev/tessera/training/AlsoBad.java:3: class AlsoBad { int t = dev.tessera.core.cpu.Parallel.threads(); }"),
                found);
    }

    private static void module(Path root, String name, String file, String text) throws IOException {
        Files.createDirectories(root.resolve(name));
        Files.writeString(root.resolve(name).resolve("pom.xml"), "<project/>");
        Path f = root.resolve(name).resolve("src/main/java").resolve(file);
        Files.createDirectories(f.getParent());
        Files.writeString(f, text);
    }
}
