package dev.tessera.quant;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.nn.io.Json;
import dev.tessera.nn.io.PythonJson;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
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
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("quant_type", f.quantType());
        m.put("blocksize", f.blocksize());
        m.put("dtype", f.dtype());
        m.put("shape", Arrays.stream(f.shape()).boxed().toList());
        if (f.nested()) {
            m.put("nested_blocksize", f.nestedBlocksize());
            m.put("nested_dtype", f.nestedDtype());
            // bitsandbytes writes offset.item(): the float32 widened to a Python float.
            m.put("nested_offset", (double) f.nestedOffset());
        }
        return PythonJson.dumpsLine(m).getBytes(StandardCharsets.UTF_8);
    }

    /** Parses the JSON of tensor {@code key}; errors name the key. */
    static Fields read(byte[] json, String key) {
        JsonNode root;
        try {
            root = Json.parse(new String(json, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(key + ": quant_state is not valid JSON: " + Json.describe(e), e);
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
}
