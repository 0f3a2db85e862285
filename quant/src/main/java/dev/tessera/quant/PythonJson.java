package dev.tessera.quant;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * JSON text as Python's {@code json.dumps(value, indent=2, sort_keys=True)} writes it, which is
 * how transformers writes {@code config.json}: two-space indent, "," at line ends, ": " after
 * keys, keys sorted by code point, non-ASCII escaped as {@code \u00e9}, floats as
 * Python's {@code repr} ({@code 1e-05}, {@code 10000.0}), integers as integers.
 */
final class PythonJson {
    private PythonJson() {}

    static String indented(JsonNode node) {
        StringBuilder sb = new StringBuilder();
        write(sb, node, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, JsonNode node, int depth) {
        switch (node.getNodeType()) {
            case OBJECT -> {
                List<Map.Entry<String, JsonNode>> fields = new ArrayList<>(node.properties());
                if (fields.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                // Python sorts str keys by code point; Java compares UTF-16 units, which differs
                // only for characters outside the BMP.
                fields.sort((a, b) -> compareCodePoints(a.getKey(), b.getKey()));
                sb.append("{\n");
                for (int i = 0; i < fields.size(); i++) {
                    indent(sb, depth + 1);
                    string(sb, fields.get(i).getKey());
                    sb.append(": ");
                    write(sb, fields.get(i).getValue(), depth + 1);
                    sb.append(i + 1 < fields.size() ? ",\n" : "\n");
                }
                indent(sb, depth);
                sb.append('}');
            }
            case ARRAY -> {
                if (node.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append("[\n");
                for (int i = 0; i < node.size(); i++) {
                    indent(sb, depth + 1);
                    write(sb, node.get(i), depth + 1);
                    sb.append(i + 1 < node.size() ? ",\n" : "\n");
                }
                indent(sb, depth);
                sb.append(']');
            }
            case STRING -> string(sb, node.textValue());
            case NUMBER -> sb.append(node.isIntegralNumber() ? node.bigIntegerValue().toString()
                    : BnbJson.pythonRepr(node.doubleValue()));
            case BOOLEAN -> sb.append(node.booleanValue() ? "true" : "false");
            case NULL -> sb.append("null");
            default -> throw new IllegalArgumentException("cannot write a " + node.getNodeType() + " JSON node");
        }
    }

    private static void indent(StringBuilder sb, int depth) {
        sb.append("  ".repeat(depth));
    }

    /** A JSON string as Python's json module escapes it with ensure_ascii. */
    private static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7E) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    private static int compareCodePoints(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }
}
