package dev.tessera.examples.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a Llama-shaped checkpoint of random BF16 weights (config.json, shards and
 * model.safetensors.index.json), streaming: one buffer of random bytes is written over and over,
 * so a 7B checkpoint (13.5 GB) is made in a few MB of memory. For memory and speed checks at real
 * shapes; the weights mean nothing.
 *
 * <pre>
 * java -cp ... dev.tessera.examples.bench.SyntheticCheckpoint 7b /tmp/llama-7b   # or 1.1b, or tiny
 * </pre>
 */
public final class SyntheticCheckpoint {
    /** Llama-family shapes: hidden, intermediate, layers, heads, KV heads, vocab, tied head. */
    record Shape(int hidden, int intermediate, int layers, int heads, int kvHeads, int vocab, boolean tied, double normEps) {}

    static final Map<String, Shape> SHAPES = Map.of(
            "7b", new Shape(4096, 11008, 32, 32, 32, 32000, false, 1e-5),
            "1.1b", new Shape(2048, 5632, 22, 32, 4, 32000, false, 1e-5),
            "tiny", new Shape(64, 172, 2, 4, 2, 256, false, 1e-5));

    private static final long MAX_SHARD_BYTES = 2_000_000_000L;
    private static final int BUFFER = 1 << 22;

    private SyntheticCheckpoint() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 2 || !SHAPES.containsKey(args[0].toLowerCase(Locale.ROOT))) {
            System.err.println("usage: SyntheticCheckpoint 7b|1.1b|tiny OUTPUT_DIR");
            System.exit(2);
        }
        write(SHAPES.get(args[0].toLowerCase(Locale.ROOT)), Path.of(args[1]), MAX_SHARD_BYTES);
    }

    /** The tensors of {@code s} in transformers' state-dict order, name to shape. */
    static Map<String, long[]> tensors(Shape s) {
        Map<String, long[]> t = new LinkedHashMap<>();
        long h = s.hidden, kv = (long) s.hidden / s.heads * s.kvHeads;
        t.put("model.embed_tokens.weight", new long[] {s.vocab, h});
        for (int i = 0; i < s.layers; i++) {
            String p = "model.layers." + i + ".";
            t.put(p + "self_attn.q_proj.weight", new long[] {h, h});
            t.put(p + "self_attn.k_proj.weight", new long[] {kv, h});
            t.put(p + "self_attn.v_proj.weight", new long[] {kv, h});
            t.put(p + "self_attn.o_proj.weight", new long[] {h, h});
            t.put(p + "mlp.gate_proj.weight", new long[] {s.intermediate, h});
            t.put(p + "mlp.up_proj.weight", new long[] {s.intermediate, h});
            t.put(p + "mlp.down_proj.weight", new long[] {h, s.intermediate});
            t.put(p + "input_layernorm.weight", new long[] {h});
            t.put(p + "post_attention_layernorm.weight", new long[] {h});
        }
        t.put("model.norm.weight", new long[] {h});
        if (!s.tied) {
            t.put("lm_head.weight", new long[] {s.vocab, h});
        }
        return t;
    }

    /** Writes config.json, shards of at most {@code maxShardBytes} and the index into {@code dir}. */
    public static void write(Shape s, Path dir, long maxShardBytes) throws IOException {
        Files.createDirectories(dir);
        List<Map<String, long[]>> shards = new ArrayList<>();
        Map<String, long[]> current = new LinkedHashMap<>();
        long used = 0, total = 0, params = 0;
        for (Map.Entry<String, long[]> e : tensors(s).entrySet()) {
            long bytes = numel(e.getValue()) * 2;
            if (used + bytes > maxShardBytes && !current.isEmpty()) {
                shards.add(current);
                current = new LinkedHashMap<>();
                used = 0;
            }
            current.put(e.getKey(), e.getValue());
            used += bytes;
            total += bytes;
            params += numel(e.getValue());
        }
        shards.add(current);
        Map<String, String> weightMap = new TreeMap<>();
        long seed = 0x9E3779B97F4A7C15L;
        for (int i = 0; i < shards.size(); i++) {
            String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, shards.size());
            seed = writeShard(dir.resolve(file), shards.get(i), seed);
            shards.get(i).keySet().forEach(n -> weightMap.put(n, file));
            System.err.printf(Locale.ROOT, "synthetic checkpoint: %s (%d/%d)%n", file, i + 1, shards.size());
        }
        StringBuilder index = new StringBuilder("{\n  \"metadata\": {\n    \"total_parameters\": " + params
                + ",\n    \"total_size\": " + total + "\n  },\n  \"weight_map\": {\n");
        int n = 0;
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            index.append("    \"").append(e.getKey()).append("\": \"").append(e.getValue()).append('"')
                    .append(++n < weightMap.size() ? ",\n" : "\n");
        }
        index.append("  }\n}\n");
        writeText(dir.resolve("model.safetensors.index.json"), index.toString());
        writeText(dir.resolve("config.json"), String.format(Locale.ROOT, """
                {
                  "architectures": ["LlamaForCausalLM"],
                  "bos_token_id": 1,
                  "eos_token_id": 2,
                  "hidden_act": "silu",
                  "hidden_size": %d,
                  "intermediate_size": %d,
                  "max_position_embeddings": 2048,
                  "model_type": "llama",
                  "num_attention_heads": %d,
                  "num_hidden_layers": %d,
                  "num_key_value_heads": %d,
                  "rms_norm_eps": %s,
                  "rope_theta": 10000.0,
                  "tie_word_embeddings": %s,
                  "torch_dtype": "bfloat16",
                  "vocab_size": %d
                }
                """, s.hidden, s.intermediate, s.heads, s.layers, s.kvHeads, Double.toString(s.normEps), s.tied, s.vocab));
    }

    /** One safetensors file: header, then each tensor's random BF16 bytes. Returns the RNG state. */
    private static long writeShard(Path file, Map<String, long[]> tensors, long seed) throws IOException {
        StringBuilder header = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long offset = 0;
        for (Map.Entry<String, long[]> e : tensors.entrySet()) {
            long bytes = numel(e.getValue()) * 2;
            header.append(",\"").append(e.getKey()).append("\":{\"dtype\":\"BF16\",\"shape\":[");
            long[] shape = e.getValue();
            for (int i = 0; i < shape.length; i++) {
                header.append(i > 0 ? "," : "").append(shape[i]);
            }
            header.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        header.append('}');
        while (header.length() % 8 != 0) {
            header.append(' '); // safetensors pads the header with spaces to 8-byte alignment
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        ByteBuffer buf = ByteBuffer.allocateDirect(BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            ByteBuffer head = ByteBuffer.allocate(8 + json.length).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(json.length).put(json).flip();
            writeFully(ch, head);
            for (Map.Entry<String, long[]> e : tensors.entrySet()) {
                boolean norm = e.getValue().length == 1;
                long remaining = numel(e.getValue()) * 2;
                while (remaining > 0) {
                    buf.clear();
                    int chunk = (int) Math.min(BUFFER, remaining);
                    for (int i = 0, end = (chunk + 7) & ~7; i < end; i += 8) {
                        seed = seed * 6364136223846793005L + 1442695040888963407L;
                        long r = seed ^ (seed >>> 29);
                        buf.putLong(i, norm ? 0x3F803F803F803F80L : randomBf16x4(r));
                    }
                    buf.limit(chunk);
                    writeFully(ch, buf);
                    remaining -= chunk;
                }
            }
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return seed;
    }

    /** Four BF16 values from 64 random bits: random sign and mantissa, magnitude 2^-9 .. 2^-5 (weights of scale ~0.02). */
    private static long randomBf16x4(long r) {
        long out = 0;
        for (int i = 0; i < 4; i++) {
            long bits = r >>> (16 * i);
            long sign = (bits >>> 15) & 1;
            long exponent = 127 - 5 - ((bits >>> 7) & 3);
            long mantissa = bits & 0x7F;
            out |= ((sign << 15) | (exponent << 7) | mantissa) << (16 * i);
        }
        return out;
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    private static void writeText(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling("." + file.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
