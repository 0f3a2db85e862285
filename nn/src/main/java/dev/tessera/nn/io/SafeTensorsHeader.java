package dev.tessera.nn.io;

import static dev.tessera.nn.io.IoErrors.error;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A validated safetensors header: {@code u64 N (little-endian) | N bytes of UTF-8 JSON | data buffer}.
 * Nothing in it is trusted until checked against the file's real size.
 *
 * @param entries tensors by name, sorted
 * @param metadata the {@code __metadata__} strings, sorted by key (empty if absent)
 * @param dataStart file offset of the data buffer ({@code 8 + N})
 */
record SafeTensorsHeader(SortedMap<String, Entry> entries, SortedMap<String, String> metadata, long dataStart) {
    /** The safetensors library's limit on N. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    static final String METADATA_KEY = "__metadata__";

    private static final ValueLayout.OfLong U64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One tensor: its bytes are {@code [begin, end)} of the data buffer. */
    record Entry(String name, SafeTensorsDType dtype, int[] shape, long begin, long end) {
        long byteSize() {
            return end - begin;
        }
    }

    /** Parses and validates the header of {@code file}, whose whole content is {@code bytes}. */
    static SafeTensorsHeader parse(Object file, MemorySegment bytes) {
        long fileSize = bytes.byteSize();
        if (fileSize < 8) {
            throw error(file, "file is " + fileSize + " bytes, too short for the 8-byte header length");
        }
        long n = bytes.get(U64_LE, 0);
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw error(file, "header length " + Long.toUnsignedString(n) + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (n > fileSize - 8) {
            throw error(file, "header length " + n + " runs past the end of the file (" + (fileSize - 8) + " bytes follow the length)");
        }
        String text;
        try {
            text = Json.utf8(bytes.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE));
        } catch (CharacterCodingException e) {
            throw error(file, "header is not valid UTF-8");
        }
        JsonNode root;
        try {
            root = Json.parse(text);
        } catch (JsonProcessingException e) {
            throw error(file, "header is not valid JSON: " + Json.describe(e));
        }
        if (!root.isObject()) {
            throw error(file, "header is not a JSON object");
        }
        long bufferSize = fileSize - 8 - n;
        SortedMap<String, Entry> entries = new TreeMap<>();
        SortedMap<String, String> metadata = new TreeMap<>();
        for (Map.Entry<String, JsonNode> field : root.properties()) {
            if (field.getKey().equals(METADATA_KEY)) {
                readMetadata(file, field.getValue(), metadata);
            } else {
                entries.put(field.getKey(), readEntry(file, field.getKey(), field.getValue(), bufferSize));
            }
        }
        checkCoverage(file, entries, bufferSize);
        return new SafeTensorsHeader(Collections.unmodifiableSortedMap(entries), Collections.unmodifiableSortedMap(metadata), 8 + n);
    }

    private static void readMetadata(Object file, JsonNode node, Map<String, String> out) {
        if (node.isNull()) {
            return;
        }
        if (!node.isObject()) {
            throw error(file, METADATA_KEY + " is not a JSON object of strings");
        }
        for (Map.Entry<String, JsonNode> kv : node.properties()) {
            if (!kv.getValue().isTextual()) {
                throw error(file, METADATA_KEY + " value for " + IoErrors.quote(kv.getKey()) + " is not a string");
            }
            out.put(kv.getKey(), kv.getValue().textValue());
        }
    }

    private static Entry readEntry(Object file, String name, JsonNode node, long bufferSize) {
        if (!node.isObject()) {
            throw error(file, name, "entry is not a JSON object with dtype, shape and data_offsets");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw error(file, name, "dtype is missing or not a string");
        }
        SafeTensorsDType dtype = SafeTensorsDType.byName(dtypeNode.textValue());
        if (dtype == null) {
            throw error(file, name, "unknown dtype " + IoErrors.quote(dtypeNode.textValue()) + " (known: " + SafeTensorsDType.known() + ")");
        }
        int[] shape = readShape(file, name, node.get("shape"));
        long bytesNeeded = dtype.byteSize;
        for (int d : shape) {
            try {
                bytesNeeded = Math.multiplyExact(bytesNeeded, d);
            } catch (ArithmeticException e) {
                throw error(file, name, "shape " + Arrays.toString(shape) + " of " + dtype + " overflows a 64-bit byte count");
            }
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw error(file, name, "data_offsets is missing or not a [begin, end] pair");
        }
        long begin = readOffset(file, name, offsets.get(0));
        long end = readOffset(file, name, offsets.get(1));
        if (begin > end) {
            throw error(file, name, "data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        if (end > bufferSize) {
            throw error(file, name, "data_offsets [" + begin + ", " + end + "] run past the data buffer of " + bufferSize + " bytes");
        }
        if (end - begin != bytesNeeded) {
            throw error(file, name, "data_offsets [" + begin + ", " + end + "] hold " + (end - begin) + " bytes but "
                    + dtype + " " + Arrays.toString(shape) + " needs " + bytesNeeded);
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    private static int[] readShape(Object file, String name, JsonNode node) {
        if (node == null || !node.isArray()) {
            throw error(file, name, "shape is missing or not an array");
        }
        int[] shape = new int[node.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = node.get(i);
            if (!d.isIntegralNumber()) {
                throw error(file, name, "shape dimension " + i + " is not an integer");
            }
            if (d.canConvertToLong() && d.longValue() < 0 || d.isBigInteger() && d.bigIntegerValue().signum() < 0) {
                throw error(file, name, "shape dimension " + i + " is negative (" + d.asText() + ")");
            }
            if (!d.canConvertToInt()) {
                throw error(file, name, "shape dimension " + i + " (" + d.asText() + ") exceeds Tessera's limit of " + Integer.MAX_VALUE);
            }
            shape[i] = d.intValue();
        }
        return shape;
    }

    private static long readOffset(Object file, String name, JsonNode node) {
        if (!node.isIntegralNumber()) {
            throw error(file, name, "data_offsets must be integers");
        }
        if (!node.canConvertToLong() || node.longValue() < 0) {
            throw error(file, name, "data_offset " + node.asText() + " is out of range");
        }
        return node.longValue();
    }

    /** Sorted by offset, the tensors must tile the buffer exactly: no overlap, no hole, nothing left over. */
    private static void checkCoverage(Object file, Map<String, Entry> entries, long bufferSize) {
        List<Entry> byOffset = new ArrayList<>(entries.values());
        byOffset.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long covered = 0;
        Entry previous = null;
        for (Entry e : byOffset) {
            if (e.begin() < covered) {
                throw error(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end() + "] overlap tensor "
                        + IoErrors.quote(previous.name()) + " [" + previous.begin() + ", " + previous.end() + "]");
            }
            if (e.begin() > covered) {
                throw error(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end() + "] leave a hole: bytes ["
                        + covered + ", " + e.begin() + ") of the data buffer belong to no tensor");
            }
            covered = e.end();
            previous = e;
        }
        if (covered != bufferSize) {
            String after = previous == null ? "" : " after tensor " + IoErrors.quote(previous.name());
            throw error(file, "data buffer has " + (bufferSize - covered) + " bytes" + after + " that belong to no tensor");
        }
    }
}
