package dev.tessera.core;

import java.util.Objects;

/**
 * A matrix {@code W [rows, cols]} quantized blockwise to 4 bits as bitsandbytes stores it, with
 * every part on one device, as the {@link Backend}'s 4-bit ops take it. Element {@code e}
 * (row-major) decodes to {@code code[q(e)] * absmax(e / blocksize)}, where {@code q(e)} is the
 * high nibble of byte {@code e / 2} for even {@code e} and the low nibble for odd {@code e}.
 * The block scales are either plain F32 ({@code absmax}) or double-quantized:
 * {@code absmax(b) = nestedCode[absmaxCodes[b]] * nestedAbsmax[b / nestedBlocksize] + nestedOffset},
 * computed in F32 in that order.
 *
 * <pre>{@code
 * // from quant: Linear4bit builds one per device from its QuantState
 * Packed4Bit w = Packed4Bit.plain(packed, code, 64, absmax, 3072, 768);
 * Backends.of(w.device()).matmul4bit(w, DType.F32, false, x, m, y);   // y [m, 3072] = x [m, 768] · Wᵀ
 * }</pre>
 *
 * @param packed        U8 [(rows * cols + 1) / 2], contiguous (any shape of that size)
 * @param code          F32 [16], the 4-bit code table
 * @param blocksize     elements per block scale
 * @param absmax        F32 [blocks], or null when double-quantized
 * @param absmaxCodes   U8 [blocks] when double-quantized, else null
 * @param nestedAbsmax  F32 [ceil(blocks / nestedBlocksize)] when double-quantized, else null
 * @param nestedCode    F32 [256] when double-quantized, else null
 * @param nestedBlocksize block scales per nested absmax (256 in bitsandbytes; 1 when unused)
 * @param nestedOffset  added after the nested decode (0 when unused)
 * @param rows          W's rows (a linear layer's out features)
 * @param cols          W's columns (in features)
 */
public record Packed4Bit(Tensor packed, Tensor code, int blocksize, Tensor absmax, Tensor absmaxCodes,
                         Tensor nestedAbsmax, Tensor nestedCode, int nestedBlocksize, float nestedOffset,
                         int rows, int cols) {
    public Packed4Bit {
        Objects.requireNonNull(packed, "packed");
        Objects.requireNonNull(code, "code");
        if (rows < 1 || cols < 1 || blocksize < 1 || nestedBlocksize < 1) {
            throw new TesseraException("4-bit weight: rows, cols and blocksizes must be positive, got " + rows + ", "
                    + cols + ", " + blocksize + ", " + nestedBlocksize);
        }
        long n = (long) rows * cols;
        long blocks = (n + blocksize - 1) / blocksize;
        check(packed, DType.U8, (n + 1) / 2, "packed codes");
        check(code, DType.F32, 16, "code table");
        if ((absmax == null) == (absmaxCodes == null)) {
            throw new TesseraException("4-bit weight: give either F32 absmax or double-quantized absmax codes");
        }
        if (absmax != null) {
            check(absmax, DType.F32, blocks, "absmax");
        } else {
            check(absmaxCodes, DType.U8, blocks, "absmax codes");
            check(Objects.requireNonNull(nestedAbsmax, "nestedAbsmax"), DType.F32,
                    (blocks + nestedBlocksize - 1) / nestedBlocksize, "nested absmax");
            check(Objects.requireNonNull(nestedCode, "nestedCode"), DType.F32, 256, "nested code table");
        }
        for (Tensor t : new Tensor[] {code, absmax, absmaxCodes, nestedAbsmax, nestedCode}) {
            if (t != null && !t.device().equals(packed.device())) {
                throw new TesseraException("4-bit weight: parts on " + packed.device() + " and " + t.device());
            }
        }
    }

    /** A weight with plain F32 block scales. */
    public static Packed4Bit plain(Tensor packed, Tensor code, int blocksize, Tensor absmax, int rows, int cols) {
        return new Packed4Bit(packed, code, blocksize, absmax, null, null, null, 1, 0f, rows, cols);
    }

    /** A weight whose block scales are themselves 8-bit codes (QLoRA's double quantization). */
    public static Packed4Bit doubleQuantized(Tensor packed, Tensor code, int blocksize, Tensor absmaxCodes,
                                             Tensor nestedAbsmax, Tensor nestedCode, int nestedBlocksize,
                                             float nestedOffset, int rows, int cols) {
        return new Packed4Bit(packed, code, blocksize, null, absmaxCodes, nestedAbsmax, nestedCode, nestedBlocksize,
                nestedOffset, rows, cols);
    }

    public Device device() {
        return packed.device();
    }

    public boolean isDoubleQuantized() {
        return absmax == null;
    }

    /** rows * cols. */
    public long numel() {
        return (long) rows * cols;
    }

    /** Number of block scales. */
    public long blocks() {
        return (numel() + blocksize - 1) / blocksize;
    }

    private static void check(Tensor t, DType dtype, long numel, String what) {
        if (t.dtype() != dtype || t.numel() != numel || !t.isContiguous()) {
            throw new TesseraException("4-bit weight: " + what + " must be contiguous " + dtype + " of " + numel
                    + " elements, got " + t.dtype() + " " + Shapes.str(t.shape()));
        }
    }
}
