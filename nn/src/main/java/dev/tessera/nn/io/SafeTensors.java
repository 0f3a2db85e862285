package dev.tessera.nn.io;

import static dev.tessera.nn.io.IoErrors.error;

import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Reads and writes the safetensors format: {@code u64 N | N bytes of JSON header | data}.
 *
 * <pre>{@code
 * SafeTensors.write(Path.of("out.safetensors"), Map.of("w", Tensor.of(new float[] {1, 2, 3, 4}, 2, 2)), null);
 * try (SafeTensorsFile f = SafeTensors.open(Path.of("out.safetensors"))) {
 *     float[] w = f.tensor("w").toFloatArray();   // {1, 2, 3, 4}
 *     String format = f.metadata().get("format");  // "pt"
 * }
 * }</pre>
 *
 * Files are written byte for byte as Python's {@code safetensors.torch.save_file} writes them:
 * tensors widest dtype first then by name, header keys in that order after {@code __metadata__},
 * header padded with spaces to a multiple of 8. Writes are atomic (temporary file, then rename).
 */
public final class SafeTensors {
    private static final String DEFAULT_FORMAT = "pt";

    /**
     * One tensor given as bytes, for dtypes outside Tessera's {@code DType} (F64, I16, I8, F8_E4M3,
     * F8_E5M2) or bytes already laid out.
     *
     * @param dtype the safetensors dtype name, e.g. "F8_E4M3"
     * @param shape sizes, row-major
     * @param bytes exactly {@code prod(shape) * size(dtype)} little-endian bytes
     */
    public record RawTensor(String dtype, int[] shape, MemorySegment bytes) {
        public RawTensor {
            Objects.requireNonNull(dtype, "dtype");
            shape = shape.clone();
            Objects.requireNonNull(bytes, "bytes");
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }
    }

    private SafeTensors() {}

    /** Memory-maps {@code path} and validates its whole header; close the result to unmap. */
    public static SafeTensorsFile open(Path path) {
        return SafeTensorsFile.open(path);
    }

    /**
     * {@code tensors} in the same order with every non-F32 one cast to F32 (the casts owned by
     * the current {@code Scope}): Tessera saves models and adapters in F32, as PEFT and
     * {@code save_pretrained} of an F32 model do.
     */
    public static Map<String, Tensor> widenedToF32(Map<String, Tensor> tensors) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(k, v.dtype() == DType.F32 ? v : v.cast(DType.F32)));
        return out;
    }

    /** {@link #write(Path, Map, Map)} with only the {@code {"format": "pt"}} metadata. */
    public static void write(Path path, Map<String, Tensor> tensors) {
        write(path, tensors, null);
    }

    /**
     * Writes {@code tensors} (any device, any layout: copied to contiguous CPU bytes as needed).
     * {@code metadata} may be null; {@code "format": "pt"} is added unless it names a format.
     */
    public static void write(Path path, Map<String, Tensor> tensors, Map<String, String> metadata) {
        try (Scope _ = Scope.open()) {
            Map<String, RawTensor> raw = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                if (e.getValue() == null) {
                    throw error(path, e.getKey(), "tensor is null");
                }
                Tensor t = e.getValue().to(Device.CPU).contiguous();
                raw.put(e.getKey(), new RawTensor(t.dtype().safetensorsName(), t.shape(), t.dataSegment()));
            }
            writeRaw(path, raw, metadata);
        }
    }

    /** A checked tensor on its way into the file: its header entry, and what writes its bytes. */
    private record Placed(String name, SafeTensorsDType dtype, int[] shape, long byteSize, BytesWriter bytes) {}

    /** Writes one tensor's bytes at the channel's position. */
    @FunctionalInterface
    interface BytesWriter {
        void writeTo(java.nio.channels.FileChannel channel) throws java.io.IOException;
    }

    /** A tensor whose bytes are elsewhere (e.g. a spill file): dtype name, shape and byte count checked as RawTensor's. */
    record Deferred(String dtype, int[] shape, long byteSize, BytesWriter bytes) {}

    /** Writes tensors given as raw bytes; metadata as in {@link #write(Path, Map, Map)}. */
    public static void writeRaw(Path path, Map<String, RawTensor> tensors, Map<String, String> metadata) {
        List<Placed> placed = new ArrayList<>(tensors.size());
        for (Map.Entry<String, RawTensor> e : tensors.entrySet()) {
            RawTensor t = e.getValue();
            SafeTensorsDType dtype = checkRaw(path, e.getKey(), t);
            placed.add(new Placed(e.getKey(), dtype, t.shape(), t.bytes().byteSize(), ch -> AtomicFiles.writeFully(ch, t.bytes())));
        }
        writePlaced(path, placed, metadata);
    }

    /**
     * Writes tensors whose bytes come from elsewhere, byte for byte as {@link #writeRaw} would
     * write the same tensors (for checkpoints streamed to disk without holding them in memory).
     */
    static void writeDeferred(Path path, Map<String, Deferred> tensors) {
        List<Placed> placed = new ArrayList<>(tensors.size());
        for (Map.Entry<String, Deferred> e : tensors.entrySet()) {
            Deferred d = e.getValue();
            SafeTensorsDType dtype = SafeTensorsDType.byName(d.dtype());
            if (dtype == null) {
                throw error(path, e.getKey(), "unknown dtype " + IoErrors.quote(d.dtype()));
            }
            placed.add(new Placed(e.getKey(), dtype, d.shape().clone(), d.byteSize(), d.bytes()));
        }
        writePlaced(path, placed, null);
    }

    private static void writePlaced(Path path, List<Placed> placed, Map<String, String> metadata) {
        placed.sort(Comparator.comparing(Placed::dtype).thenComparing(Placed::name));

        SortedMap<String, String> meta = new TreeMap<>();
        if (metadata != null) {
            for (Map.Entry<String, String> kv : metadata.entrySet()) {
                if (kv.getKey() == null || kv.getValue() == null) {
                    throw error(path, "metadata keys and values must not be null");
                }
                meta.put(kv.getKey(), kv.getValue());
            }
        }
        meta.putIfAbsent("format", DEFAULT_FORMAT);

        byte[] header = paddedUtf8(path, headerJson(meta, placed));
        if (header.length > SafeTensorsHeader.MAX_HEADER_BYTES) {
            throw error(path, "header of " + header.length + " bytes exceeds the limit of " + SafeTensorsHeader.MAX_HEADER_BYTES);
        }
        AtomicFiles.write(path, channel -> {
            AtomicFiles.writeFully(channel, ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length));
            AtomicFiles.writeFully(channel, ByteBuffer.wrap(header));
            for (Placed p : placed) {
                p.bytes().writeTo(channel);
            }
        });
    }

    /** The header as serde_json writes it: no spaces, metadata first, tensors in file order. */
    private static CharSequence headerJson(SortedMap<String, String> meta, List<Placed> placed) {
        StringBuilder json = new StringBuilder("{\"").append(SafeTensorsHeader.METADATA_KEY).append("\":{");
        String sep = "";
        for (Map.Entry<String, String> kv : meta.entrySet()) {
            json.append(sep);
            appendString(json, kv.getKey()).append(':');
            appendString(json, kv.getValue());
            sep = ",";
        }
        json.append('}');
        long offset = 0;
        for (Placed p : placed) {
            long end = offset + p.byteSize();
            json.append(',');
            appendString(json, p.name()).append(":{\"dtype\":\"").append(p.dtype().name()).append("\",\"shape\":[");
            int[] shape = p.shape();
            for (int i = 0; i < shape.length; i++) {
                json.append(i == 0 ? "" : ",").append(shape[i]);
            }
            json.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
        }
        return json.append('}');
    }

    private static SafeTensorsDType checkRaw(Path path, String name, RawTensor t) {
        if (name == null) {
            throw error(path, "tensor names must not be null");
        }
        if (name.equals(SafeTensorsHeader.METADATA_KEY)) {
            throw error(path, name, "the name is reserved for the header's metadata");
        }
        if (t == null) {
            throw error(path, name, "tensor is null");
        }
        SafeTensorsDType dtype = SafeTensorsDType.byName(t.dtype());
        if (dtype == null) {
            throw error(path, name, "unknown dtype " + IoErrors.quote(t.dtype()) + " (known: " + SafeTensorsDType.known() + ")");
        }
        long need = dtype.byteSize;
        for (int d : t.shape()) {
            if (d < 0) {
                throw error(path, name, "shape " + Arrays.toString(t.shape()) + " has a negative dimension");
            }
            try {
                need = Math.multiplyExact(need, d);
            } catch (ArithmeticException e) {
                throw error(path, name, "shape " + Arrays.toString(t.shape()) + " of " + dtype + " overflows a 64-bit byte count");
            }
        }
        if (t.bytes().byteSize() != need) {
            throw error(path, name, dtype + " " + Arrays.toString(t.shape()) + " needs " + need + " bytes, got " + t.bytes().byteSize());
        }
        return dtype;
    }

    /** Appends {@code s} as a JSON string escaped exactly as serde_json (the Rust writer) does. */
    private static StringBuilder appendString(StringBuilder sb, String s) {
        return PythonJson.appendQuoted(sb, s, false);
    }

    /** The header's bytes, padded with spaces to a multiple of 8 as the Rust writer does. */
    private static byte[] paddedUtf8(Path path, CharSequence json) {
        ByteBuffer encoded;
        try {
            encoded = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(json));
        } catch (CharacterCodingException e) {
            throw error(path, "a tensor name or metadata string is not valid Unicode (lone surrogate)");
        }
        int length = encoded.remaining();
        byte[] padded = new byte[length + (8 - length % 8) % 8];
        encoded.get(padded, 0, length);
        Arrays.fill(padded, length, padded.length, (byte) ' ');
        return padded;
    }
}
