package dev.tessera.cuda.backend;

import dev.tessera.core.DType;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;

/**
 * The CUDA backend's quantized ops (4-bit weights, 8-bit codes and the 8-bit AdamW step), on
 * {@link CudaBackend}'s context and launcher; see core's {@code Backend} for what each computes.
 */
final class CudaQuantOps {
    private final CudaBackend backend;
    private final CudaContext context;
    private final KernelLauncher launcher;

    CudaQuantOps(CudaBackend backend, CudaContext context, KernelLauncher launcher) {
        this.backend = backend;
        this.context = context;
        this.launcher = launcher;
    }

    private long address(Tensor t) {
        return backend.address(t);
    }

    private long addressOrNull(Tensor t) {
        return backend.addressOrNull(t);
    }

    /** Floats of a decoded tile of W: 16 MiB of scratch per 4-bit product. */
    private static final long TILE_FLOATS = 1L << 22;

    void dequantize4bit(Packed4Bit w, DType rounding, Tensor out) {
        if (out.numel() != w.numel() || !out.isContiguous() || (out.dtype() != DType.F32 && out.dtype() != DType.BF16)) {
            throw new TesseraException("dequantize4bit: output must be contiguous F32 or BF16 with " + w.numel() + " elements");
        }
        if (!w.isDoubleQuantized() && rounding == DType.F32 && out.dtype() == DType.F32) {
            long n = w.numel();
            launcher.elementwise(Kernel.DEQUANT_4BIT, n, address(w.packed()), address(w.absmax()), address(w.code()),
                    address(out), n, w.blocksize());
            return;
        }
        decodeTile(w, rounding, 0, 0, 1, w.numel(), out);
    }

    /** Rows ranges of W's elements (range r from first + r * stride, width long) densely into out. */
    private void decodeTile(Packed4Bit w, DType rounding, long first, long stride, long rows, long width, Tensor out) {
        launcher.elementwise(Kernel.DEQUANT_4BIT_TILE, rows * width, address(w.packed()), address(w.code()),
                w.blocksize(), addressOrNull(w.absmax()), addressOrNull(w.absmaxCodes()), addressOrNull(w.nestedAbsmax()),
                addressOrNull(w.nestedCode()), w.nestedBlocksize(), w.nestedOffset(), rounding.ordinal(), first, stride,
                rows, width, address(out), out.dtype().ordinal());
    }

    void matmul4bit(Packed4Bit w, DType rounding, boolean inputGradient, Tensor x, int m, Tensor y) {
        int rows = w.rows(), cols = w.cols();
        long xCols = inputGradient ? rows : cols, yCols = inputGradient ? cols : rows;
        if (x.numel() != m * xCols || y.numel() != m * yCols || x.dtype() != DType.F32 || y.dtype() != DType.F32) {
            throw new TesseraException("matmul4bit: x must be F32 [" + m + ", " + xCols + "] and y F32 [" + m + ", "
                    + yCols + "]");
        }
        if (m == 0) {
            return;
        }
        if (m == 1 && !inputGradient) {
            launcher.launch(Kernel.GEMV_4BIT, rows, KernelLauncher.THREADS, 1, address(w.packed()), address(w.code()), w.blocksize(),
                    addressOrNull(w.absmax()), addressOrNull(w.absmaxCodes()), addressOrNull(w.nestedAbsmax()),
                    addressOrNull(w.nestedCode()), w.nestedBlocksize(), w.nestedOffset(), rounding.ordinal(),
                    address(x), address(y), rows, cols);
            return;
        }
        // A band of W's rows at a time, decoded into scratch, multiplied by cuBLAS.
        int band = (int) Math.min(rows, Math.max(64, TILE_FLOATS / cols));
        try (var scope = Scope.open()) {
            Tensor tile = Tensor.empty(DType.F32, backend.device(), band * cols);
            Tensor xm = x.reshape(m, (int) xCols), ym = y.reshape(m, (int) yCols);
            for (int r0 = 0; r0 < rows; r0 += band) {
                int h = Math.min(band, rows - r0);
                decodeTile(w, rounding, (long) r0 * cols, cols, h, cols, tile);
                if (inputGradient) {
                    // y [m, cols] += x[:, r0:r0+h] · tile [h, cols]
                    backend.gemm(false, false, 1, m, cols, h, xm.narrow(1, r0, h), rows, 0, tile, cols, 0,
                            r0 == 0 ? 0f : 1f, ym, cols, 0);
                } else {
                    // y[:, r0:r0+h] = x [m, cols] · tileᵀ
                    backend.gemm(false, true, 1, m, h, cols, xm, cols, 0, tile, cols, 0, 0f, ym.narrow(1, r0, h), rows, 0);
                }
            }
        }
    }

    void quantize4bit(Tensor x, Tensor code, boolean signMagnitude, int blocksize, Tensor packed, Tensor absmax,
                      Tensor absmaxMean) {
        long n = x.numel();
        long blocks = (n + blocksize - 1) / blocksize;
        if (blocksize < 2 || blocksize % 2 != 0 || blocksize > KernelConstants.MAX_QUANT_BLOCK) {
            throw new TesseraException("4-bit quantize on cuda: blocksize must be even in [2, "
                    + KernelConstants.MAX_QUANT_BLOCK + "], got " + blocksize);
        }
        if (x.dtype() != DType.F32 || !x.isContiguous() || code.dtype() != DType.F32 || code.numel() != 16
                || packed.dtype() != DType.U8 || packed.numel() != (n + 1) / 2 || !packed.isContiguous()
                || absmax.dtype() != DType.F32 || absmax.numel() != blocks || !absmax.isContiguous()
                || absmaxMean != null && (absmaxMean.dtype() != DType.F32 || absmaxMean.numel() != 1)) {
            throw new TesseraException("4-bit quantize: " + n + " F32 values need an F32 code [16], U8 packed ["
                    + (n + 1) / 2 + "], F32 absmax [" + blocks + "] and an F32 mean [1] or none");
        }
        if (n == 0) {
            return;
        }
        launcher.launch(Kernel.QUANTIZE_4BIT, blocks, KernelLauncher.THREADS, 1, address(x), address(code),
                signMagnitude ? 1 : 0, blocksize, address(packed), address(absmax), n, context.errorWord());
        if (absmaxMean != null) {
            launcher.launch(Kernel.ABSMAX_MEAN, 1, 32, 1, address(absmax), blocks, address(absmaxMean));
        }
    }

    void quantize8bit(Tensor x, Tensor map, int blocksize, Tensor codes, Tensor absmax) {
        long n = x.numel();
        long blocks = check8bit(n, blocksize, codes, absmax, map);
        launcher.launch(Kernel.QUANTIZE_8BIT, blocks, KernelLauncher.THREADS, 1, address(x), address(map), blocksize, address(codes),
                address(absmax), n, context.errorWord());
    }

    void dequantize8bit(Tensor codes, Tensor absmax, Tensor map, int blocksize, Tensor out) {
        long n = out.numel();
        check8bit(n, blocksize, codes, absmax, map);
        launcher.elementwise(Kernel.DEQUANTIZE_8BIT, n, address(codes), address(absmax), address(map), blocksize,
                address(out), n);
    }

    private static long check8bit(long n, int blocksize, Tensor codes, Tensor absmax, Tensor map) {
        if (blocksize < 1 || blocksize > KernelConstants.MAX_QUANT_BLOCK) {
            throw new TesseraException("8-bit codes on cuda: blocksize must be in [1, " + KernelConstants.MAX_QUANT_BLOCK
                    + "], got " + blocksize);
        }
        long blocks = (n + blocksize - 1) / blocksize;
        if (codes.numel() != n || codes.dtype() != DType.U8 || absmax.numel() != blocks || absmax.dtype() != DType.F32
                || map.numel() != 256 || map.dtype() != DType.F32) {
            throw new TesseraException("8-bit codes: " + n + " values need U8 codes [" + n + "], F32 absmax [" + blocks
                    + "] and an F32 map [256]");
        }
        return blocks;
    }

    void adamw8bit(Tensor param, Tensor grad, Tensor mCodes, Tensor mAbsmax, Tensor vCodes, Tensor vAbsmax,
                          Tensor signedMap, Tensor unsignedMap, int blocksize, double lr, double beta1, double beta2,
                          double eps, double weightDecay, long step) {
        long n = param.numel();
        long blocks = check8bit(n, blocksize, mCodes, mAbsmax, signedMap);
        check8bit(n, blocksize, vCodes, vAbsmax, unsignedMap);
        // scalars in double, rounded once, exactly as the CPU backend
        float decay = (float) (1 - lr * weightDecay);
        float w1 = (float) (1 - beta1), b2 = (float) beta2, w2 = (float) (1 - beta2), epsF = (float) eps;
        float negStepSize = (float) -(lr / (1 - Math.pow(beta1, step)));
        float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, step));
        launcher.launch(Kernel.ADAMW8BIT_STEP, blocks, KernelLauncher.THREADS, 1, address(param), address(grad), address(mCodes),
                address(mAbsmax), address(vCodes), address(vAbsmax), address(signedMap), address(unsignedMap), blocksize,
                n, decay, w1, b2, w2, epsF, negStepSize, bc2Sqrt, context.errorWord());
    }
}
