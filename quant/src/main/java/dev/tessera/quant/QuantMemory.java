package dev.tessera.quant;

import dev.tessera.core.Tensor;
import dev.tessera.nn.Module;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Memory accounting for 4-bit weights: the bytes of the packed codes plus the absmax values,
 * float32 per block, or with double quantization one byte per block plus a float32 per 256
 * blocks and the float32 offset. The two 16- and 256-entry code tables (64 + 1024 bytes per
 * tensor, the same in every layer) are not counted.
 *
 * <pre>{@code
 * QuantMemory.bitsPerWeight(4096L * 4096, 64, false);   // 4.5
 * QuantMemory.bitsPerWeight(4096L * 4096, 64, true);    // 4.127 (= 4 + 8/64 + 32/(64*256))
 * CausalLM model = QuantizedModels.load(Path.of("gpt2-nf4"));
 * QuantMemory.Report r = QuantMemory.report(model);     // its 4-bit layers, measured
 * System.out.println(r.toText());
 * }</pre>
 */
public final class QuantMemory {
    private QuantMemory() {}

    /** Bytes that {@code numel} weights take when quantized in blocks of {@code blocksize}. */
    public static long storageBytes(long numel, int blocksize, boolean doubleQuant) {
        QuantState.checkBlocksize(blocksize);
        if (numel < 1) {
            throw new IllegalArgumentException("numel must be positive, got " + numel);
        }
        long blocks = (numel + blocksize - 1) / blocksize;
        long packed = (numel + 1) / 2;
        if (!doubleQuant) {
            return packed + 4 * blocks;
        }
        long nestedBlocks = (blocks + 255) / 256;
        return packed + blocks + 4 * nestedBlocks + 4;
    }

    /** {@link #storageBytes} in bits per weight. */
    public static double bitsPerWeight(long numel, int blocksize, boolean doubleQuant) {
        return 8.0 * storageBytes(numel, blocksize, doubleQuant) / numel;
    }

    /**
     * The 4-bit weights of a model, measured layer by layer from their quant states.
     *
     * @param layers number of {@link Linear4bit} layers
     * @param weights weights they hold (the product of each weight's shape)
     * @param codeBytes packed 4-bit codes, (n + 1) / 2 bytes per layer
     * @param absmaxBytes float32 absmax (4 bytes per block), or 8-bit codes of it (1 byte per block)
     * @param nestedBytes double quantization's float32 absmax per 256 blocks and its offset
     * @param otherBytes every other parameter (embeddings, norms, biases, unquantized layers), as stored
     * @param formats the distinct formats, e.g. "nf4, blocksize 64, double quant"
     */
    public record Report(int layers, long weights, long codeBytes, long absmaxBytes, long nestedBytes,
                         long otherBytes, List<String> formats) {
        public Report {
            formats = List.copyOf(formats);
        }

        /** Codes plus statistics. */
        public long quantizedBytes() {
            return codeBytes + absmaxBytes + nestedBytes;
        }

        /** What the same weights take in F32. */
        public long f32Bytes() {
            return 4 * weights;
        }

        /** {@link #quantizedBytes} per weight, in bits: 4.5 plain, about 4.127 with double quantization. */
        public double bitsPerWeight() {
            return 8.0 * quantizedBytes() / weights;
        }

        public double bytesPerWeight() {
            return (double) quantizedBytes() / weights;
        }

        /** The statistics alone (absmax and nested), bits per weight: 0.5 plain, about 0.127 double-quantized. */
        public double statisticsBitsPerWeight() {
            return 8.0 * (absmaxBytes + nestedBytes) / weights;
        }

        /** F32 bytes over quantized bytes of the 4-bit layers' weights (about 7.1 plain, 7.75 double-quantized). */
        public double reductionVsF32() {
            return (double) f32Bytes() / quantizedBytes();
        }

        /** A small table for people, as the {@code memory} command prints it. */
        public String toText() {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format("4-bit linear layers: %d (%,d weights; %s)%n", layers, weights,
                    formats.isEmpty() ? "none" : String.join("; ", formats)));
            if (weights > 0) {
                row(sb, "4-bit codes", codeBytes, 8.0 * codeBytes / weights);
                row(sb, "absmax", absmaxBytes, 8.0 * absmaxBytes / weights);
                row(sb, "nested stats", nestedBytes, 8.0 * nestedBytes / weights);
                row(sb, "total", quantizedBytes(), bitsPerWeight());
                sb.append(String.format("  %-14s %,16d bytes   %.2fx the 4-bit bytes%n", "same as F32", f32Bytes(), reductionVsF32()));
            }
            sb.append(String.format("other parameters %,16d bytes%n", otherBytes));
            return sb.toString();
        }

        private static void row(StringBuilder sb, String what, long bytes, double bits) {
            sb.append(String.format("  %-14s %,16d bytes   %.4f bits/weight%n", what, bytes, bits));
        }
    }

    /** Measures the {@link Linear4bit} layers of {@code model} and the bytes of its other parameters. */
    public static Report report(Module model) {
        int layers = 0;
        long weights = 0;
        long codes = 0;
        long absmax = 0;
        long nested = 0;
        Set<String> formats = new TreeSet<>();
        Set<Tensor> packed = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Linear4bit q : QuantizedModels.quantizedLayers(model).values()) {
            QuantState s = q.quantState();
            layers++;
            weights += s.numel();
            codes += (s.numel() + 1) / 2;
            if (s.doubleQuant() == null) {
                absmax += 4L * s.blocks();
            } else {
                absmax += s.blocks();
                nested += 4L * s.doubleQuant().absmax().length + 4;
            }
            formats.add(s.type().bnbName() + ", blocksize " + s.blocksize() + (s.doubleQuant() != null ? ", double quant" : ""));
            packed.add(q.packedWeight());
        }
        long other = 0;
        for (Tensor t : model.namedParameters().values()) {
            if (!packed.contains(t)) {
                other += t.numel() * t.dtype().byteSize();
            }
        }
        return new Report(layers, weights, codes, absmax, nested, other, new ArrayList<>(formats));
    }
}
