package dev.tessera.examples.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The one JSON line a command prints on stdout, written by Jackson (so paths and names are
 * escaped properly) in the CLI's spacing: {@code {"steps": 3, "layers_kept": ["lm_head"]}}.
 * JSON has no NaN: a value that is not a number is written as {@code null}.
 */
final class JsonOutput {
    private static final ObjectWriter LINE = new ObjectMapper().writer(new DefaultPrettyPrinter(Separators.createDefaultInstance()
                    .withObjectFieldValueSpacing(Separators.Spacing.AFTER)
                    .withObjectEntrySpacing(Separators.Spacing.AFTER)
                    .withArrayValueSpacing(Separators.Spacing.AFTER)
                    .withObjectEmptySeparator("")
                    .withArrayEmptySeparator(""))
            .withObjectIndenter(new DefaultIndenter("", ""))
            .withArrayIndenter(DefaultPrettyPrinter.NopIndenter.instance));

    private JsonOutput() {}

    static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    /** {@code key: v}, or {@code key: null} when v is NaN or infinite. */
    static ObjectNode putNumber(ObjectNode o, String key, double v) {
        return Double.isFinite(v) ? o.put(key, v) : o.putNull(key);
    }

    /** The object on one line. */
    static String line(ObjectNode o) {
        try {
            return LINE.writeValueAsString(o);
        } catch (JacksonException e) {
            throw new IllegalStateException(e);
        }
    }
}
