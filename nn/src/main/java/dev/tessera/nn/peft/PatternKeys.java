package dev.tessera.nn.peft;

import java.util.Collection;
import java.util.regex.Pattern;

/** PEFT's {@code get_pattern_key}: the first key {@code k} for which {@code (.*\.)?(k)$} matches the whole module name. */
final class PatternKeys {
    private PatternKeys() {}

    static String match(Collection<String> keys, String name) {
        for (String k : keys) {
            if (Pattern.compile("(.*\\.)?(" + k + ")$").matcher(name).matches()) {
                return k;
            }
        }
        return null;
    }
}
