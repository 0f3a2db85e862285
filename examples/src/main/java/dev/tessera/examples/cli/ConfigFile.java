package dev.tessera.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code --config FILE.json|yaml}: a flat object of flag names (without dashes; {@code _} and
 * {@code -} both accepted) to values, turned into command-line arguments placed before the
 * user's, so flags given on the command line override the file.
 *
 * <pre>
 * # lora.yaml
 * method: lora
 * r: 16
 * lr: 2.0e-4
 * target-modules: [q_proj, v_proj]
 * bf16: true
 * </pre>
 */
public final class ConfigFile {
    private ConfigFile() {}

    /**
     * The arguments a config file stands for, and which key set which flag (errors about a value
     * name the key and the file).
     *
     * @param all the whole command line, the file's flags first
     * @param fromFile the file's flags and values
     * @param keys flag name to the file's key, for flags the command line does not set again
     */
    public record Arguments(String[] all, List<String> fromFile, Map<String, String> keys, Path file) {
        /** No config file. */
        public static Arguments none(String[] args) {
            return new Arguments(args, List.of(), Map.of(), null);
        }

        /** With the combined command line; flags given again on it no longer count as the file's. */
        public Arguments withAll(String[] all, List<String> commandLine) {
            Map<String, String> k = new LinkedHashMap<>(keys);
            commandLine.forEach(k::remove);
            return new Arguments(all, fromFile, k, file);
        }

        /** The file's key that set {@code flag}, or null. */
        public String keyOf(String flag) {
            return keys.get(flag);
        }
    }

    /** The arguments the file stands for; a key that names no flag of {@code knownFlags} is an error naming the file and key. */
    public static Arguments arguments(Path file, Set<String> knownFlags) {
        if (!Files.exists(file)) {
            throw new TesseraException("--config " + file + ": no such file");
        }
        String name = file.getFileName().toString().toLowerCase();
        ObjectMapper mapper = name.endsWith(".yaml") || name.endsWith(".yml") ? new ObjectMapper(new YAMLFactory()) : new ObjectMapper();
        JsonNode root;
        try {
            root = mapper.readTree(file.toFile());
        } catch (IOException e) {
            throw new TesseraException(file + ": cannot read the config: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (root == null || !root.isObject()) {
            throw new TesseraException(file + ": expected an object of flag names to values");
        }
        List<String> args = new ArrayList<>();
        Map<String, String> keys = new LinkedHashMap<>();
        for (var it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            String flag = "--" + e.getKey().replaceFirst("^-+", "").replace('_', '-');
            JsonNode v = e.getValue();
            if (flag.equals("--config")) {
                throw new TesseraException(file + ": a config cannot name another config");
            }
            if (!knownFlags.contains(flag)) {
                String near = nearest(flag, knownFlags);
                throw new TesseraException(file + ": unknown key '" + e.getKey() + "'"
                        + (near == null ? "" : "; did you mean '" + near.substring(2) + "'?"));
            }
            keys.put(flag, e.getKey());
            if (v.isBoolean() && !flag.equals("--completion-only")) {
                if (v.asBoolean()) {
                    args.add(flag);
                }
            } else if (v.isArray()) {
                List<String> parts = new ArrayList<>();
                v.forEach(x -> parts.add(x.asText()));
                args.add(flag);
                args.add(String.join(",", parts));
            } else if (v.isValueNode() && !v.isNull()) {
                args.add(flag);
                args.add(v.asText());
            } else {
                throw new TesseraException(file + ": value of '" + e.getKey() + "' must be a string, number, boolean or list");
            }
        }
        return new Arguments(args.toArray(String[]::new), List.copyOf(args), keys, file);
    }

    /** The known flag closest to {@code flag} by edit distance, if within a third of its length. */
    static String nearest(String flag, Set<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = editDistance(flag, k);
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        return bestDistance <= Math.max(2, flag.length() / 3) ? best : null;
    }

    private static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1], cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1], prev[j]) + 1, prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
