package dev.tessera.nn.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.io.Json;
import java.nio.file.Path;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A JSON file read as a tree, with typed field access whose failures are one-line
 * {@link TesseraException}s naming the file and the field path, e.g.
 * {@code models/x/tokenizer.json: model.vocab must be an object}.
 */
final class JsonFile {
    private final Path path;
    private final JsonNode root;

    private JsonFile(Path path, JsonNode root) {
        this.path = path;
        this.root = root;
    }

    /** Reads and parses the file, which must hold a JSON object. */
    static JsonFile read(Path path) {
        return new JsonFile(path, Json.readObject(path));
    }

    JsonNode root() {
        return root;
    }

    TesseraException error(String what) {
        return new TesseraException(path + ": " + oneLine(what));
    }

    /** The field, or null when it is absent or JSON null. */
    static JsonNode optional(JsonNode object, String name) {
        JsonNode v = object.get(name);
        return v == null || v.isNull() ? null : v;
    }

    JsonNode object(JsonNode object, String name, String where) {
        JsonNode v = optional(object, name);
        if (v == null || !v.isObject()) {
            throw error(where + name + " must be an object");
        }
        return v;
    }

    JsonNode array(JsonNode object, String name, String where) {
        JsonNode v = optional(object, name);
        if (v == null || !v.isArray()) {
            throw error(where + name + " must be an array");
        }
        return v;
    }

    String string(JsonNode object, String name, String where) {
        String v = string(object, name, where, null);
        if (v == null) {
            throw error(where + name + " must be a string");
        }
        return v;
    }

    /** The string field, or {@code fallback} when absent or null. */
    String string(JsonNode object, String name, String where, String fallback) {
        return optionalOfKind(object, name, where, fallback, JsonNode::isTextual, "a string", JsonNode::textValue);
    }

    boolean bool(JsonNode object, String name, String where, boolean fallback) {
        return optionalOfKind(object, name, where, fallback, JsonNode::isBoolean, "true or false", JsonNode::booleanValue);
    }

    /**
     * The field as {@code value} reads it, or {@code fallback} when absent or null; a field that
     * {@code isKind} refuses is an error saying it must be {@code kind}.
     */
    private <T> T optionalOfKind(JsonNode object, String name, String where, T fallback, Predicate<JsonNode> isKind, String kind,
                                 Function<JsonNode, T> value) {
        JsonNode v = optional(object, name);
        if (v == null) {
            return fallback;
        }
        if (!isKind.test(v)) {
            throw error(where + name + " must be " + kind);
        }
        return value.apply(v);
    }

    /** A non-negative int field no larger than {@code max}. */
    int integer(JsonNode object, String name, String where, int fallback, int max) {
        JsonNode v = optional(object, name);
        if (v == null) {
            return fallback;
        }
        return integer(v, where + name, max);
    }

    /** The node as a non-negative int no larger than {@code max}. */
    int integer(JsonNode v, String where, int max) {
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0 || v.intValue() > max) {
            throw error(where + " must be an integer from 0 to " + max + ", got " + clip(v.toString()));
        }
        return v.intValue();
    }

    /** A one-character string field, as a code point. */
    int codePoint(JsonNode object, String name, String where, int fallback) {
        String s = string(object, name, where, null);
        if (s == null) {
            return fallback;
        }
        if (s.isEmpty() || s.codePointCount(0, s.length()) != 1) {
            throw error(where + name + " must be a single character, got \"" + clip(s) + "\"");
        }
        return s.codePointAt(0);
    }

    static String oneLine(String message) {
        return Json.oneLine(message);
    }

    static String clip(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
