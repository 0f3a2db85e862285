package dev.tessera.examples.arch;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Finds Java sources outside the core module whose code names the CPU backend's package:
 * imports, static imports and fully-qualified names (comments, strings and text blocks are
 * blanked first), since everything above core must compute through the {@code Backend} SPI.
 * Every folder of the repository root that holds a {@code pom.xml} is a module.
 */
final class CpuBackendReferences {
    static final String CORE_MODULE = "core";
    private static final Pattern CPU_PACKAGE = Pattern.compile("\\bdev\\.tessera\\.core\\.cpu\\b");

    private CpuBackendReferences() {}

    /** "module/path/File.java:line: text" for each reference outside core, in file order. */
    static List<String> outsideCore(Path repoRoot) {
        List<String> found = new ArrayList<>();
        try (Stream<Path> modules = Files.list(repoRoot)) {
            for (Path module : modules.sorted().toList()) {
                if (!Files.isRegularFile(module.resolve("pom.xml")) || module.getFileName().toString().equals(CORE_MODULE)
                        || !Files.isDirectory(module.resolve("src"))) {
                    continue;
                }
                try (Stream<Path> files = Files.walk(module.resolve("src"))) {
                    for (Path file : files.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
                        List<String> lines = Files.readAllLines(file);
                        String[] code = codeOnly(String.join("\n", lines)).split("\n", -1);
                        for (int i = 0; i < lines.size(); i++) {
                            if (CPU_PACKAGE.matcher(code[i]).find()) {
                                found.add(repoRoot.relativize(file) + ":" + (i + 1) + ": " + lines.get(i).strip());
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found;
    }

    /**
     * {@code source} with the contents of comments, string and char literals and text blocks
     * replaced by spaces; line breaks are kept, so line numbers stay.
     */
    static String codeOnly(String source) {
        StringBuilder out = new StringBuilder(source.length());
        int n = source.length();
        int i = 0;
        while (i < n) {
            char c = source.charAt(i);
            String end = null;
            if (source.startsWith("//", i)) {
                end = "\n";
            } else if (source.startsWith("/*", i)) {
                end = "*/";
            } else if (source.startsWith("\"\"\"", i)) {
                end = "\"\"\"";
            } else if (c == '"' || c == '\'') {
                end = String.valueOf(c);
            }
            if (end == null) {
                out.append(c);
                i++;
                continue;
            }
            int start = i;
            i += end.equals("\n") ? 2 : end.equals("*/") ? 2 : end.length();
            while (i < n && !source.startsWith(end, i)) {
                i += source.charAt(i) == '\\' && end.length() <= 3 && !end.equals("\n") && !end.equals("*/") ? 2 : 1;
            }
            i = Math.min(n, i + (end.equals("\n") ? 0 : end.length()));
            for (int k = start; k < i; k++) {
                out.append(source.charAt(k) == '\n' ? '\n' : ' ');
            }
        }
        return out.toString();
    }
}
