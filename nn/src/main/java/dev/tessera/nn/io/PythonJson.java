package dev.tessera.nn.io;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * JSON text exactly as Python's {@code json.dumps(value, indent=2, sort_keys=True)} writes it —
 * how PEFT writes {@code adapter_config.json} and transformers {@code config.json}: two-space
 * indent, keys sorted by code point, non-ASCII escaped ({@code \u00e9}), {@code {}} and
 * {@code []} for empty containers, floats as Python's {@code repr} ({@code 1e-05},
 * {@code 10000.0}), integers as integers.
 *
 * <pre>{@code
 * String text = PythonJson.dumps(Map.of("r", 8, "lora_alpha", 16.0));   // {"lora_alpha": 16.0, "r": 8} indented
 * }</pre>
 */
public final class PythonJson {
    private PythonJson() {}

    /** {@code value}: maps (keys sorted), lists, strings, Integer/Long, Float/Double, Boolean, null, or a Jackson {@link JsonNode}. */
    public static String dumps(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0, true);
        return sb.toString();
    }

    /**
     * Python's {@code json.dumps(value)} with no options: one line, {@code ", "} and {@code ": "}
     * separators, map keys in the map's own order (bitsandbytes' quant-state JSON).
     */
    public static String dumpsLine(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0, false);
        return sb.toString();
    }

    /** {@code indented}: {@code indent=2, sort_keys=True}; else one line in the map's order. */
    private static void write(StringBuilder sb, Object value, int depth, boolean indented) {
        switch (value) {
            case null -> sb.append("null");
            case Boolean b -> sb.append(b ? "true" : "false");
            case Integer i -> sb.append(i);
            case Long l -> sb.append(l);
            case Double d -> sb.append(pythonFloat(d));
            case Float f -> sb.append(pythonFloat(f));
            case String s -> string(sb, s);
            case JsonNode n -> writeNode(sb, n, depth, indented);
            case Map<?, ?> m -> {
                Map<String, Object> entries = indented ? new TreeMap<>(PythonJson::compareCodePoints) : new java.util.LinkedHashMap<>();
                m.forEach((k, v) -> entries.put((String) k, v));
                writeContainer(sb, '{', '}', List.copyOf(entries.entrySet()), depth, indented);
            }
            case List<?> list -> writeContainer(sb, '[', ']', list, depth, indented);
            default -> throw new IllegalArgumentException("no JSON form for " + value.getClass());
        }
    }

    /** An object (items are map entries) or an array; empty ones as {@code {}} and {@code []}. */
    private static void writeContainer(StringBuilder sb, char open, char close, List<?> items, int depth, boolean indented) {
        sb.append(open);
        for (int i = 0; i < items.size(); i++) {
            sb.append(indented ? (i == 0 ? "\n" : ",\n") + "  ".repeat(depth + 1) : i == 0 ? "" : ", ");
            Object item = items.get(i);
            if (item instanceof Map.Entry<?, ?> e) {
                string(sb, (String) e.getKey());
                sb.append(": ");
                item = e.getValue();
            }
            write(sb, item, depth + 1, indented);
        }
        if (indented && !items.isEmpty()) {
            sb.append('\n').append("  ".repeat(depth));
        }
        sb.append(close);
    }

    private static void writeNode(StringBuilder sb, JsonNode node, int depth, boolean indented) {
        switch (node.getNodeType()) {
            case OBJECT -> {
                Map<String, Object> fields = new java.util.LinkedHashMap<>();
                node.properties().forEach(e -> fields.put(e.getKey(), e.getValue()));
                write(sb, fields, depth, indented);
            }
            case ARRAY -> {
                List<Object> items = new java.util.ArrayList<>();
                node.forEach(items::add);
                write(sb, items, depth, indented);
            }
            case STRING -> string(sb, node.textValue());
            case NUMBER -> sb.append(node.isIntegralNumber() ? node.bigIntegerValue().toString() : pythonFloat(node.doubleValue()));
            case BOOLEAN -> sb.append(node.booleanValue() ? "true" : "false");
            case NULL -> sb.append("null");
            default -> throw new IllegalArgumentException("cannot write a " + node.getNodeType() + " JSON node");
        }
    }

    /** Python's sort_keys order: by code point (Java's String order differs above U+FFFF). */
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

    /**
     * Python's {@code repr(float)}: the shortest decimal that reads back as {@code d} (the nearest
     * such when several; Java's Double.toString keeps more digits for some values, e.g.
     * {@code 4.9E-324}), in fixed notation when the decimal exponent is in [-4, 16), else as
     * {@code 1.5e-05} / {@code 1e+16}; {@code -0.0}; non-finite values as json.dumps writes them.
     */
    public static String pythonFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == 0) {
            return (Double.doubleToRawLongBits(d) < 0 ? "-" : "") + "0.0";
        }
        BigDecimal shortest = shortestDecimal(Math.abs(d)).stripTrailingZeros();
        String digits = shortest.unscaledValue().toString();
        int decpt = digits.length() - shortest.scale(); // value = 0.digits * 10^decpt
        StringBuilder sb = new StringBuilder(d < 0 ? "-" : "");
        if (decpt > -4 && decpt <= 16) {
            if (decpt <= 0) {
                sb.append("0.").append("0".repeat(-decpt)).append(digits);
            } else if (decpt >= digits.length()) {
                sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
            } else {
                sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
            }
        } else {
            sb.append(digits.charAt(0));
            if (digits.length() > 1) {
                sb.append('.').append(digits, 1, digits.length());
            }
            int exp = decpt - 1;
            sb.append(exp < 0 ? "e-" : "e+");
            sb.append(Math.abs(exp) < 10 ? "0" : "").append(Math.abs(exp));
        }
        return sb.toString();
    }

    private static BigDecimal shortestDecimal(double d) {
        BigDecimal exact = new BigDecimal(d);
        for (int precision = 1; precision <= 17; precision++) {
            BigDecimal best = null;
            for (RoundingMode mode : new RoundingMode[] {RoundingMode.HALF_EVEN, RoundingMode.FLOOR, RoundingMode.CEILING}) {
                BigDecimal candidate = exact.round(new MathContext(precision, mode));
                if (candidate.doubleValue() == d && (best == null
                        || candidate.subtract(exact).abs().compareTo(best.subtract(exact).abs()) < 0)) {
                    best = candidate;
                }
            }
            if (best != null) {
                return best;
            }
        }
        return exact.round(new MathContext(17, RoundingMode.HALF_EVEN));
    }

    private static void string(StringBuilder sb, String s) {
        appendQuoted(sb, s, true);
    }

    /**
     * {@code s} as a JSON string: quotes, backslashes and control characters escaped (short forms
     * where JSON has them, else six-character escapes in lowercase hex); with {@code asciiOnly}
     * every UTF-16 unit outside space..tilde too, as Python's {@code ensure_ascii}, else left as
     * is, as serde_json writes safetensors headers.
     */
    static StringBuilder appendQuoted(StringBuilder sb, String s, boolean asciiOnly) {
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
                    if (c < 0x20 || (asciiOnly && c > 0x7e)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"');
    }
}
