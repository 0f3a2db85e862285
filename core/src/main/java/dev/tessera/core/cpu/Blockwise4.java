package dev.tessera.core.cpu;

import dev.tessera.core.DType;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * {@link CpuBackend}'s blockwise 4-bit quantization (bitsandbytes' quantize_4bit, see
 * {@code Backend.quantize4bit}): blocks in parallel, each block's absmax, then every value's
 * nearest code by midpoints of the sorted table. quant's {@code Quantized4Bit.quantize} is the
 * reference it is tested against byte for byte.
 */
final class Blockwise4 {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Blockwise4() {}

    /** The nearest-entry search of one code table: entries sorted ascending, midpoints between neighbours. */
    private record Search(int[] sortedIndex, double[] thresholds, int[] tieIndex, boolean signMagnitude) {
        static Search of(float[] code, boolean signMagnitude) {
            int searched = signMagnitude ? 8 : 16;
            Integer[] order = new Integer[searched];
            for (int i = 0; i < searched; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Float.compare(code[a], code[b]));
            int[] sorted = new int[searched];
            double[] thresholds = new double[searched - 1];
            int[] tie = new int[searched - 1];
            for (int k = 0; k < searched; k++) {
                sorted[k] = order[k];
            }
            for (int k = 0; k + 1 < searched; k++) {
                // two floats of similar magnitude sum exactly in double, so the midpoint is exact
                thresholds[k] = ((double) code[order[k]] + code[order[k + 1]]) / 2;
                tie[k] = Math.min(order[k], order[k + 1]);
            }
            return new Search(sorted, thresholds, tie, signMagnitude);
        }

        int nearest(float v) {
            if (signMagnitude) {
                return (v < 0 ? 8 : 0) + sorted(Math.abs(v));
            }
            return sorted(v);
        }

        private int sorted(float v) {
            int p = 0;
            while (p < thresholds.length && v > thresholds[p]) {
                p++;
            }
            if (p < thresholds.length && v == thresholds[p]) {
                return tieIndex[p];
            }
            return sortedIndex[p];
        }
    }

    static void quantize(Tensor x, Tensor code, boolean signMagnitude, int blocksize, Tensor packed, Tensor absmax,
                         Tensor absmaxMean) {
        long n = x.numel();
        if (blocksize < 2 || blocksize % 2 != 0) {
            throw new TesseraException("4-bit quantize: blocksize must be even and positive, got " + blocksize);
        }
        long blocks = (n + blocksize - 1) / blocksize;
        if (x.dtype() != DType.F32 || !x.isContiguous() || code.dtype() != DType.F32 || code.numel() != 16
                || packed.dtype() != DType.U8 || packed.numel() != (n + 1) / 2 || !packed.isContiguous()
                || absmax.dtype() != DType.F32 || absmax.numel() != blocks || !absmax.isContiguous()
                || absmaxMean != null && (absmaxMean.dtype() != DType.F32 || absmaxMean.numel() != 1)) {
            throw new TesseraException("4-bit quantize: " + n + " F32 values need an F32 code [16], U8 packed ["
                    + (n + 1) / 2 + "], F32 absmax [" + blocks + "] and an F32 mean [1] or none, got " + x.dtype()
                    + ", " + code.dtype() + " [" + code.numel() + "], " + packed.dtype() + " [" + packed.numel() + "], "
                    + absmax.dtype() + " [" + absmax.numel() + "]");
        }
        Search search = Search.of(code.dataSegment().toArray(ValueLayout.JAVA_FLOAT), signMagnitude);
        int zero = search.nearest(0f);
        MemorySegment xs = x.dataSegment(), ps = packed.dataSegment(), as = absmax.dataSegment();
        Parallel.forRange(blocks, Math.max(1, (1 << 16) / blocksize), (from, to) -> {
            for (long b = from; b < to; b++) {
                long start = b * blocksize, end = Math.min(n, start + blocksize);
                float max = 0f;
                for (long e = start; e < end; e++) {
                    float v = xs.getAtIndex(F32, e);
                    if (!Float.isFinite(v)) {
                        throw new TesseraException("4-bit quantize: non-finite value " + v + " at index " + e);
                    }
                    max = Math.max(max, Math.abs(v));
                }
                as.setAtIndex(F32, b, max);
                // blocks start at even elements, so a byte never straddles two blocks
                for (long e = start; e < end; e += 2) {
                    int high = max == 0f ? zero : search.nearest(xs.getAtIndex(F32, e) / max);
                    int low = e + 1 >= end || max == 0f ? zero : search.nearest(xs.getAtIndex(F32, e + 1) / max);
                    ps.set(ValueLayout.JAVA_BYTE, e >>> 1, (byte) (high << 4 | low));
                }
            }
        });
        if (absmaxMean != null) {
            double sum = 0;
            for (long b = 0; b < blocks; b++) {
                sum += as.getAtIndex(F32, b);
            }
            absmaxMean.dataSegment().set(F32, 0, (float) (sum / blocks));
        }
    }
}
