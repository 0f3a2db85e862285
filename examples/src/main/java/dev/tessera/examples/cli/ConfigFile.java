package dev.tessera.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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

    /** The arguments the file stands for. */
    public static List<String> arguments(Path file) {
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
        for (var it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            String flag = "--" + e.getKey().replaceFirst("^-+", "").replace('_', '-');
            JsonNode v = e.getValue();
            if (flag.equals("--config")) {
                throw new TesseraException(file + ": a config cannot name another config");
            }
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
        return args;
    }
}
