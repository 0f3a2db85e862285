package dev.tessera.nn.peft;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * JSON as PEFT writes {@code adapter_config.json}: Python's
 * {@code json.dumps(value, indent=2, sort_keys=True)} (ASCII only, {@code {}} and {@code []} for
 * empty containers, floats as Python's {@code repr}).
 */
final class PythonJson {
    private static final JsonMapper MAPPER = JsonMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();

    private PythonJson() {}

    /** {@code value}: maps (keys sorted), lists, strings, Integer/Long, Float/Double, Boolean, null. */
    static String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object value, int depth) {
        switch (value) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case Integer i -> sb.append(i);
            case Long l -> sb.append(l);
            case Double d -> sb.append(pythonFloat(d));
            case Float f -> sb.append(pythonFloat(f));
            case String s -> string(sb, s);
            case Map<?, ?> m -> {
                if (m.isEmpty()) {
                    sb.append("{}");
                    return;
                }
                Map<String, Object> sorted = new TreeMap<>();
                m.forEach((k, v) -> sorted.put((String) k, v));
                sb.append("{\n");
                int i = 0;
                for (var e : sorted.entrySet()) {
                    sb.append("  ".repeat(depth + 1));
                    string(sb, e.getKey());
                    sb.append(": ");
                    write(sb, e.getValue(), depth + 1);
                    sb.append(++i < sorted.size() ? ",\n" : "\n");
                }
                sb.append("  ".repeat(depth)).append('}');
            }
            case List<?> list -> {
                if (list.isEmpty()) {
                    sb.append("[]");
                    return;
                }
                sb.append("[\n");
                for (int i = 0; i < list.size(); i++) {
                    sb.append("  ".repeat(depth + 1));
                    write(sb, list.get(i), depth + 1);
                    sb.append(i + 1 < list.size() ? ",\n" : "\n");
                }
                sb.append("  ".repeat(depth)).append(']');
            }
            default -> throw new IllegalArgumentException("no JSON form for " + value.getClass());
        }
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, {@code 8.0}, {@code 0.05}, {@code 1e-05}. */
    static String pythonFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e16) {
            return (long) d + ".0";
        }
        String s = Double.toString(d); // shortest digits, maybe as 1.0E-5
        int e = s.indexOf('E');
        if (e < 0) {
            return s;
        }
        String mantissa = s.substring(0, e);
        int exp = Integer.parseInt(s.substring(e + 1));
        if (mantissa.endsWith(".0")) {
            mantissa = mantissa.substring(0, mantissa.length() - 2);
        }
        if (exp >= -4 && exp < 16) {
            return new java.math.BigDecimal(mantissa + "E" + exp).toPlainString();
        }
        return mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

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
                    if (c < 0x20 || c > 0x7e) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }

    /** Parses {@code file} (an object), naming the file in the error. */
    static JsonNode read(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new TesseraException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        try {
            JsonNode node = MAPPER.readTree(text);
            if (node == null || !node.isObject()) {
                throw new TesseraException(file + ": expected a JSON object");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new TesseraException(file + ": invalid JSON (" + e.getOriginalMessage() + ")", e);
        }
    }

    /** Writes {@code text} to {@code file} through a temporary file and a rename. */
    static void writeAtomically(Path file, String text) {
        Path tmp = file.resolveSibling("." + file.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
        try {
            Files.writeString(tmp, text);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the write error is the one to report
            }
            throw new TesseraException(file + ": cannot write (" + e.getMessage() + ")", e);
        }
    }
}
