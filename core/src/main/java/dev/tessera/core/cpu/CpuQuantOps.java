package dev.tessera.core.cpu;

import static dev.tessera.core.cpu.CpuBackend.*;

import dev.tessera.core.DType;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** {@link CpuBackend}'s optimizer updates (AdamW, 8-bit AdamW) and quantized-weight ops (4-bit dequantize and product, blockwise 8-bit). */
final class CpuQuantOps {
    private CpuQuantOps() {}

    static void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, double lr, double beta1, double beta2, double eps,
                      double weightDecay, long step) {
        MemorySegment ps = seg(param), gs = seg(grad), ms = seg(m), vs = seg(v);
        long po = param.offset() * 4, go = grad.offset() * 4, mo = m.offset() * 4, vo = v.offset() * 4;
        // scalars are computed in double and rounded once, as PyTorch does with Python floats
        float decay = (float) (1 - lr * weightDecay);
        float w1 = (float) (1 - beta1), b2 = (float) beta2, w2 = (float) (1 - beta2), epsF = (float) eps;
        float negStepSize = (float) -(lr / (1 - Math.pow(beta1, step)));
        float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, step));
        Parallel.forRange(param.numel(), GRAIN, (from, to) ->
                adamwRange(ps, po, gs, go, ms, mo, vs, vo, from, to, decay, w1, b2, w2, epsF, negStepSize, bc2Sqrt));
    }


    /**
     * The AdamW update of elements [from, to) (offsets in bytes). Vector lanes and the scalar
     * tail compute the same float operations in the same order, so where the range is split
     * never changes a result.
     */
    private static void adamwRange(MemorySegment ps, long po, MemorySegment gs, long go, MemorySegment ms, long mo,
                                   MemorySegment vs, long vo, long from, long to, float decay, float w1, float b2,
                                   float w2, float epsF, float negStepSize, float bc2Sqrt) {
        long i = from;
        for (; i + L <= to; i += L) {
            long o = i * 4;
            FloatVector p = FloatVector.fromMemorySegment(F, ps, po + o, NATIVE).mul(decay);
            FloatVector g = FloatVector.fromMemorySegment(F, gs, go + o, NATIVE);
            FloatVector mv = FloatVector.fromMemorySegment(F, ms, mo + o, NATIVE);
            mv = mv.add(g.sub(mv).mul(w1));                       // torch.lerp with weight < 0.5
            FloatVector vv = FloatVector.fromMemorySegment(F, vs, vo + o, NATIVE).mul(b2).add(g.mul(w2).mul(g));
            FloatVector denom = vv.sqrt().div(bc2Sqrt).add(epsF);
            p = p.add(mv.mul(negStepSize).div(denom));             // addcdiv: (value * m) / denom
            mv.intoMemorySegment(ms, mo + o, NATIVE);
            vv.intoMemorySegment(vs, vo + o, NATIVE);
            p.intoMemorySegment(ps, po + o, NATIVE);
        }
        for (; i < to; i++) {
            long o = i * 4;
            float p = ps.get(FL, po + o) * decay;
            float g = gs.get(FL, go + o);
            float mv = ms.get(FL, mo + o);
            mv = mv + w1 * (g - mv);
            float vv = vs.get(FL, vo + o) * b2 + w2 * g * g;
            float denom = (float) Math.sqrt(vv) / bc2Sqrt + epsF;
            p = p + negStepSize * mv / denom;
            ms.set(FL, mo + o, mv);
            vs.set(FL, vo + o, vv);
            ps.set(FL, po + o, p);
        }
    }

    // ------------------------------------------------------------------ quantized weights and state

    static void dequantize4bit(Packed4Bit w, DType rounding, Tensor out) {
        if (out.numel() != w.numel() || !out.isContiguous()) {
            throw new TesseraException("dequantize4bit: output must be contiguous with " + w.numel() + " elements");
        }
        if (out.dtype() != DType.F32 && out.dtype() != DType.BF16) {
            throw new TesseraException("dequantize4bit: output must be F32 or BF16, got " + out.dtype());
        }
        if (out.dtype() == DType.BF16 && rounding != DType.F32) {
            throw new TesseraException("dequantize4bit: a BF16 output takes F32 rounding, got " + rounding);
        }
        if (rounding == DType.F32) {
            // whole blocks at a time, each block's table scaled once
            float[] absmax = BlockScales.of(w).toArray(w.blocks());
            float[] code = floats(w.code());
            MemorySegment packed = w.packed().dataSegment(), o = out.dataSegment();
            int bs = w.blocksize();
            long n = w.numel();
            boolean bf16 = out.dtype() == DType.BF16;
            Parallel.forRange(absmax.length, Math.max(1, (1 << 16) / bs), (from, to) -> {
                if (bf16) {
                    Dequant4Vector.toBf16(packed, absmax, code, bs, n, from, to, o);
                } else {
                    Dequant4Vector.toF32(packed, absmax, code, bs, n, from, to, o);
                }
            });
            return;
        }
        Matmul4Bit.dequantize(weight(w, rounding), out.dataSegment());
    }


    static void matmul4bit(Packed4Bit w, DType rounding, boolean inputGradient, Tensor x, int m, Tensor y) {
        long xCols = inputGradient ? w.rows() : w.cols(), yCols = inputGradient ? w.cols() : w.rows();
        if (x.numel() != m * xCols || y.numel() != m * yCols || x.dtype() != DType.F32 || y.dtype() != DType.F32) {
            throw new TesseraException("matmul4bit: x must be F32 [" + m + ", " + xCols + "] and y F32 [" + m + ", "
                    + yCols + "], got " + x.dtype() + " " + x.numel() + " and " + y.dtype() + " " + y.numel() + " elements");
        }
        Matmul4Bit.Weight weight = weight(w, rounding);
        if (inputGradient) {
            Matmul4Bit.backward(weight, x.dataSegment(), m, y.dataSegment());
        } else {
            Matmul4Bit.forward(weight, x.dataSegment(), m, y.dataSegment());
        }
    }


    private static Matmul4Bit.Weight weight(Packed4Bit w, DType rounding) {
        return new Matmul4Bit.Weight(w.packed().dataSegment(), BlockScales.of(w), floats(w.code()), w.blocksize(),
                w.rows(), w.cols(), rounding);
    }

    private static float[] floats(Tensor t) {
        return t.dataSegment().toArray(ValueLayout.JAVA_FLOAT);
    }

    static void quantize8bit(Tensor x, Tensor map, int blocksize, Tensor codes, Tensor absmax) {
        long n = x.numel();
        long blocks = check8bit(n, blocksize, codes, absmax, map);
        Blockwise8.Codebook table = Blockwise8.Codebook.of(floats(map));
        MemorySegment xs = seg(x), cs = seg(codes), as = seg(absmax);
        long xo = x.offset() * 4, co = codes.offset(), ao = absmax.offset() * 4;
        Parallel.forRange(blocks, Math.max(1, GRAIN / blocksize), (from, to) ->
                Blockwise8.quantize(xs, xo, n, table, blocksize, cs, co, as, ao, from, to));
    }


    static void dequantize8bit(Tensor codes, Tensor absmax, Tensor map, int blocksize, Tensor out) {
        long n = out.numel();
        long blocks = check8bit(n, blocksize, codes, absmax, map);
        float[] table = floats(map);
        MemorySegment cs = seg(codes), as = seg(absmax), os = seg(out);
        long co = codes.offset(), ao = absmax.offset() * 4, oo = out.offset() * 4;
        Parallel.forRange(blocks, Math.max(1, GRAIN / blocksize), (from, to) ->
                Blockwise8.dequantize(cs, co, as, ao, table, blocksize, n, os, oo, from, to));
    }


    private static long check8bit(long n, int blocksize, Tensor codes, Tensor absmax, Tensor map) {
        if (blocksize < 1) {
            throw new TesseraException("8-bit codes: blocksize must be positive, got " + blocksize);
        }
        long blocks = (n + blocksize - 1) / blocksize;
        if (codes.numel() != n || codes.dtype() != DType.U8 || absmax.numel() != blocks || absmax.dtype() != DType.F32
                || map.numel() != 256 || map.dtype() != DType.F32) {
            throw new TesseraException("8-bit codes: " + n + " values need U8 codes [" + n + "], F32 absmax [" + blocks
                    + "] and an F32 map [256], got " + codes.dtype() + " [" + codes.numel() + "], " + absmax.dtype()
                    + " [" + absmax.numel() + "], " + map.dtype() + " [" + map.numel() + "]");
        }
        return blocks;
    }

    static void adamw8bit(Tensor param, Tensor grad, Tensor mCodes, Tensor mAbsmax, Tensor vCodes, Tensor vAbsmax,
                          Tensor signedMap, Tensor unsignedMap, int blocksize, double lr, double beta1, double beta2,
                          double eps, double weightDecay, long step) {
        long n = param.numel();
        long blocks = check8bit(n, blocksize, mCodes, mAbsmax, signedMap);
        check8bit(n, blocksize, vCodes, vAbsmax, unsignedMap);
        float[] signed = floats(signedMap), unsigned = floats(unsignedMap);
        Blockwise8.Codebook signedBook = Blockwise8.Codebook.of(signed), unsignedBook = Blockwise8.Codebook.of(unsigned);
        MemorySegment ps = seg(param), gs = seg(grad), mc = seg(mCodes), ma = seg(mAbsmax), vc = seg(vCodes), va = seg(vAbsmax);
        long po = param.offset() * 4, go = grad.offset() * 4, mco = mCodes.offset(), mao = mAbsmax.offset() * 4;
        long vco = vCodes.offset(), vao = vAbsmax.offset() * 4;
        // the same scalars as adamw, so the F32 part of the step is bitwise adamw's
        float decay = (float) (1 - lr * weightDecay);
        float w1 = (float) (1 - beta1), b2 = (float) beta2, w2 = (float) (1 - beta2), epsF = (float) eps;
        float negStepSize = (float) -(lr / (1 - Math.pow(beta1, step)));
        float bc2Sqrt = (float) Math.sqrt(1 - Math.pow(beta2, step));
        Parallel.forRange(blocks, Math.max(1, GRAIN / blocksize), (from, to) -> {
            // one block of m and v at a time in F32, at block-relative offsets
            MemorySegment m = MemorySegment.ofArray(new float[blocksize]), v = MemorySegment.ofArray(new float[blocksize]);
            for (long b = from; b < to; b++) {
                long start = b * blocksize, len = Math.min(n, start + blocksize) - start;
                long shift = -start * 4;
                Blockwise8.dequantize(mc, mco, ma, mao, signed, blocksize, n, m, shift, b, b + 1);
                Blockwise8.dequantize(vc, vco, va, vao, unsigned, blocksize, n, v, shift, b, b + 1);
                adamwRange(ps, po + start * 4, gs, go + start * 4, m, 0, v, 0, 0, len,
                        decay, w1, b2, w2, epsF, negStepSize, bc2Sqrt);
                Blockwise8.quantize(m, shift, n, signedBook, blocksize, mc, mco, ma, mao, b, b + 1);
                Blockwise8.quantize(v, shift, n, unsignedBook, blocksize, vc, vco, va, vao, b, b + 1);
            }
        });
    }
}
