package dev.tessera.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The JSON inside a {@code .weight.quant_state.bitsandbytes__nf4} tensor, byte for byte as
 * bitsandbytes writes it: Python's {@code json.dumps} (", " and ": " separators, keys in
 * {@code QuantState.as_dict} order, floats as Python's {@code repr}) of {@code quant_type,
 * blocksize, dtype, shape} and, when nested, {@code nested_blocksize, nested_dtype,
 * nested_offset}.
 */
final class BnbJson {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Set<String> KEYS = Set.of("quant_type", "blocksize", "dtype", "shape",
            "nested_blocksize", "nested_dtype", "nested_offset");

    private BnbJson() {}

    /** The non-tensor fields of a quant state, as parsed. */
    record Fields(String quantType, int blocksize, String dtype, long[] shape,
                  Integer nestedBlocksize, String nestedDtype, Float nestedOffset) {
        boolean nested() {
            return nestedBlocksize != null;
        }
    }

    static byte[] write(Fields f) {
        StringBuilder sb = new StringBuilder("{");
        sb.append("\"quant_type\": \"").append(f.quantType()).append('"');
        sb.append(", \"blocksize\": ").append(f.blocksize());
        sb.append(", \"dtype\": \"").append(f.dtype()).append('"');
        sb.append(", \"shape\": [");
        for (int i = 0; i < f.shape().length; i++) {
            sb.append(i == 0 ? "" : ", ").append(f.shape()[i]);
        }
        sb.append(']');
        if (f.nested()) {
            sb.append(", \"nested_blocksize\": ").append(f.nestedBlocksize());
            sb.append(", \"nested_dtype\": \"").append(f.nestedDtype()).append('"');
            // bitsandbytes writes offset.item(): the float32 widened to a Python float.
            sb.append(", \"nested_offset\": ").append(pythonRepr((double) f.nestedOffset()));
        }
        return sb.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Parses the JSON of tensor {@code key}; errors name the key. */
    static Fields read(byte[] json, String key) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (IOException e) {
            throw new IllegalArgumentException(key + ": quant_state is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(key + ": quant_state must be a JSON object");
        }
        Map<String, JsonNode> fields = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (!KEYS.contains(e.getKey())) {
                throw new IllegalArgumentException(key + ": unexpected quant_state field '" + e.getKey() + "'");
            }
            fields.put(e.getKey(), e.getValue());
        }
        String quantType = text(fields, "quant_type", key);
        int blocksize = integer(fields, "blocksize", key);
        String dtype = text(fields, "dtype", key);
        JsonNode shapeNode = require(fields, "shape", key);
        if (!shapeNode.isArray()) {
            throw new IllegalArgumentException(key + ": quant_state shape must be a list of ints");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.asLong() < 0) {
                throw new IllegalArgumentException(key + ": quant_state shape must be a list of non-negative ints, got " + shapeNode);
            }
            shape[i] = d.asLong();
        }
        boolean nested = fields.containsKey("nested_blocksize") || fields.containsKey("nested_dtype")
                || fields.containsKey("nested_offset");
        if (!nested) {
            return new Fields(quantType, blocksize, dtype, shape, null, null, null);
        }
        JsonNode offset = require(fields, "nested_offset", key);
        if (!offset.isNumber()) {
            throw new IllegalArgumentException(key + ": quant_state nested_offset must be a number, got " + offset);
        }
        return new Fields(quantType, blocksize, dtype, shape, integer(fields, "nested_blocksize", key),
                text(fields, "nested_dtype", key), (float) offset.asDouble());
    }

    private static JsonNode require(Map<String, JsonNode> fields, String name, String key) {
        JsonNode n = fields.get(name);
        if (n == null) {
            throw new IllegalArgumentException(key + ": quant_state lacks field '" + name + "'");
        }
        return n;
    }

    private static String text(Map<String, JsonNode> fields, String name, String key) {
        JsonNode n = require(fields, name, key);
        if (!n.isTextual()) {
            throw new IllegalArgumentException(key + ": quant_state " + name + " must be a string, got " + n);
        }
        return n.asText();
    }

    private static int integer(Map<String, JsonNode> fields, String name, String key) {
        JsonNode n = require(fields, name, key);
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException(key + ": quant_state " + name + " must be an int, got " + n);
        }
        return n.asInt();
    }

    /**
     * Python's {@code repr(float)}: the shortest decimal that reads back as {@code d} (the nearest
     * such when several), in fixed notation when the decimal exponent is in [-4, 16), else as
     * {@code 1.5e-05} / {@code 1e+16}. Non-finite values as {@code json.dumps} writes them.
     */
    static String pythonRepr(double d) {
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
}
