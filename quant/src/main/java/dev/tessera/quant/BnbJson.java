package dev.tessera.quant;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.nn.io.PythonJson;
import java.io.IOException;
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
            sb.append(", \"nested_offset\": ").append(PythonJson.pythonFloat((double) f.nestedOffset()));
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
}
