package dev.tessera.cuda.backend;

import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.tessera.core.Backend.BinaryOp;
import dev.tessera.core.Backend.ReduceOp;
import dev.tessera.core.Backend.UnaryOp;
import dev.tessera.core.Close;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The CUDA backend against the CPU backend on random shapes: odd sizes (partial warps and
 * blocks, rows longer than a block), strided and broadcast views, padded leading dimensions.
 * Runs wherever a CUDA device is usable, which in CI is the emulated device
 * ({@code cuda-bindings/emulator}); sizes are kept small for it.
 */
class CudaOpsPropertyTest extends CudaAgainstCpu {
    private static void assertSame(String what, double atol, double rtol, Tensor expected, Tensor actual) {
        Close.assertClose(expected.toFloatArray(), actual.toFloatArray(), atol, rtol, what);
    }

    /**
     * A view of a [d0, d1, d2] tensor with the same shape but other strides, made the same way on
     * both devices: the tensor itself, a transpose of a permuted copy, a narrowing of a larger one, or
     * a broadcast of one row.
     */
    private static UnaryOperator<Tensor> view(int kind, int d0, int d1, int d2) {
        return switch (kind) {
            case 0 -> t -> t;
            case 1 -> t -> t.permute(2, 0, 1).contiguous().permute(1, 2, 0);
            case 2 -> t -> t.narrow(2, 0, d2);   // t is made with d2 + 3 columns for this kind
            default -> t -> t.narrow(1, 0, 1).expand(d0, d1, d2);
        };
    }

    private static Tensor base(Random r, int kind, int d0, int d1, int d2) {
        return kind == 2 ? randn(r, d0, d1, d2 + 3) : randn(r, d0, d1, d2);
    }

    @Test
    void binaryOpsOnStridedAndBroadcastViews() {
        qt().withExamples(25).forAll(integers().between(1, 7), integers().between(1, 9), integers().between(1, 37),
                integers().between(0, (1 << 24) - 1)).checkAssert((d0, d1, d2, draw) -> {
                    try (Scope scope = Scope.open()) {
                        Random r = new Random(draw >> 4);
                        int ka = draw & 3, kb = (draw >> 2) & 3;
                        Tensor a = base(r, ka, d0, d1, d2), b = base(r, kb, d0, d1, d2).abs().add(0.5f);
                        Tensor ga = a.to(CUDA), gb = b.to(CUDA);
                        UnaryOperator<Tensor> va = view(ka, d0, d1, d2), vb = view(kb, d0, d1, d2);
                        for (BinaryOp op : new BinaryOp[] {BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV,
                                BinaryOp.MAXIMUM, BinaryOp.LT}) {
                            DType outType = op == BinaryOp.LT ? DType.BOOL : DType.F32;
                            Tensor expected = Tensor.zeros(outType, Device.CPU, d0, d1, d2);
                            Tensor actual = Tensor.zeros(outType, CUDA, d0, d1, d2);
                            cpu.binary(op, va.apply(a), vb.apply(b), expected);
                            gpu.binary(op, va.apply(ga), vb.apply(gb), actual);
                            assertSame(op + " " + d0 + "x" + d1 + "x" + d2 + " views " + ka + "," + kb, 1e-6, 1e-6,
                                    expected, actual);
                        }
                    }
                });
    }

    @Test
    void copiesAndCastsBetweenStridedViews() {
        DType[] types = DType.values();
        qt().withExamples(25).forAll(integers().between(1, 6), integers().between(1, 9), integers().between(1, 21),
                integers().between(0, (1 << 24) - 1)).checkAssert((d0, d1, d2, draw) -> {
                    try (Scope scope = Scope.open()) {
                        Random r = new Random(draw >> 8);
                        int kind = draw & 3, pair = ((draw >> 2) & 63) % (types.length * types.length);
                        DType from = types[pair / types.length], to = types[pair % types.length];
                        Tensor src = base(r, kind, d0, d1, d2).mul(20f).cast(from);
                        UnaryOperator<Tensor> v = view(kind, d0, d1, d2);
                        Tensor expected = Tensor.empty(to, Device.CPU, d0, d1, d2);
                        cpu.copy(v.apply(src), expected);
                        // device view -> device, then device -> a transposed host destination
                        Tensor onDevice = Tensor.empty(to, CUDA, d0, d1, d2);
                        gpu.copy(v.apply(src.to(CUDA)), onDevice);
                        Tensor hostT = Tensor.zeros(to, Device.CPU, d2, d1, d0).permute(2, 1, 0);
                        gpu.copy(onDevice, hostT);
                        assertSame(from + " -> " + to + " view " + kind, 0, 0, expected.cast(DType.F32),
                                hostT.contiguous().cast(DType.F32));
                    }
                });
    }

    @Test
    void rowKernelsOnOddRowLengths() {
        // up to 1200 columns: one to 38 warps per block, and rows longer than the block
        qt().withExamples(20).forAll(integers().between(1, 5), integers().between(1, 1200), integers().between(0, 1 << 20))
                .checkAssert((rows, n, seed) -> {
                    try (Scope scope = Scope.open()) {
                        Random r = new Random(seed);
                        Tensor x = randn(r, rows, n).mul(3f), dy = randn(r, rows, n), w = randn(r, n), b = randn(r, n);
                        Tensor gx = x.to(CUDA), gdy = dy.to(CUDA), gw = w.to(CUDA), gb = b.to(CUDA);
                        String shape = rows + "x" + n;
                        for (boolean log : new boolean[] {false, true}) {
                            Tensor y = Tensor.zeros(rows, n), gy = Tensor.zeros(DType.F32, CUDA, rows, n);
                            cpu.softmax(x, y, rows, n, log);
                            gpu.softmax(gx, gy, rows, n, log);
                            assertSame("softmax " + shape + " log=" + log, 1e-6, 1e-4, y, gy);
                            Tensor dx = Tensor.zeros(rows, n), gdx = Tensor.zeros(DType.F32, CUDA, rows, n);
                            cpu.softmaxBackward(y, dy, dx, rows, n, log);
                            gpu.softmaxBackward(y.to(CUDA), gdy, gdx, rows, n, log);
                            assertSame("softmaxBackward " + shape + " log=" + log, 1e-5, 1e-4, dx, gdx);
                        }
                        Tensor y = Tensor.zeros(rows, n), mean = Tensor.zeros(rows), rstd = Tensor.zeros(rows);
                        Tensor gy = Tensor.zeros(DType.F32, CUDA, rows, n), gmean = Tensor.zeros(DType.F32, CUDA, rows),
                                grstd = Tensor.zeros(DType.F32, CUDA, rows);
                        cpu.layerNorm(x, w, b, 1e-5f, y, mean, rstd, rows, n);
                        gpu.layerNorm(gx, gw, gb, 1e-5f, gy, gmean, grstd, rows, n);
                        assertSame("layerNorm " + shape, 1e-4, 1e-4, y, gy);
                        assertSame("layerNorm rstd " + shape, 1e-5, 1e-4, rstd, grstd);
                        Tensor dx = Tensor.zeros(rows, n), dw = Tensor.zeros(n), db = Tensor.zeros(n);
                        Tensor gdx = Tensor.zeros(DType.F32, CUDA, rows, n), gdw = Tensor.zeros(DType.F32, CUDA, n),
                                gdb = Tensor.zeros(DType.F32, CUDA, n);
                        cpu.layerNormBackward(x, w, mean, rstd, dy, dx, dw, db, rows, n);
                        gpu.layerNormBackward(gx, gw, gmean, grstd, gdy, gdx, gdw, gdb, rows, n);
                        assertSame("layerNormBackward dx " + shape, 1e-4, 1e-3, dx, gdx);
                        assertSame("layerNormBackward dw " + shape, 1e-4, 1e-3, dw, gdw);
                        assertSame("layerNormBackward db " + shape, 1e-4, 1e-3, db, gdb);
                        cpu.rmsNorm(x, w, 1e-6f, y, rstd, rows, n);
                        gpu.rmsNorm(gx, gw, 1e-6f, gy, grstd, rows, n);
                        assertSame("rmsNorm " + shape, 1e-4, 1e-4, y, gy);
                        cpu.rmsNormBackward(x, w, rstd, dy, dx, dw, rows, n);
                        gpu.rmsNormBackward(gx, gw, grstd, gdy, gdx, gdw, rows, n);
                        assertSame("rmsNormBackward dx " + shape, 1e-4, 1e-3, dx, gdx);
                        assertSame("rmsNormBackward dw " + shape, 1e-4, 1e-3, dw, gdw);
                        long[] t = new long[rows];
                        for (int i = 0; i < rows; i++) {
                            t[i] = i == 0 && rows > 1 ? -100 : r.nextInt(n);
                        }
                        Tensor targets = Tensor.ofLongs(t, rows), loss = Tensor.zeros(rows), lse = Tensor.zeros(rows);
                        Tensor gloss = Tensor.zeros(DType.F32, CUDA, rows), glse = Tensor.zeros(DType.F32, CUDA, rows);
                        cpu.crossEntropy(x, targets, -100, loss, lse, rows, n);
                        gpu.crossEntropy(gx, targets.to(CUDA), -100, gloss, glse, rows, n);
                        assertSame("crossEntropy " + shape, 1e-4, 1e-5, loss, gloss);
                        cpu.crossEntropyBackward(x, targets, lse, -100, 0.25f, dx, rows, n);
                        gpu.crossEntropyBackward(gx, targets.to(CUDA), glse, -100, 0.25f, gdx, rows, n);
                        assertSame("crossEntropyBackward " + shape, 1e-7, 1e-4, dx, gdx);
                    }
                });
    }

    /** Rows over 8192 get 1024-thread blocks: all 32 warps meet in the block reductions (GPT-2's vocabulary is 50257). */
    @Test
    void rowKernelsWithThirtyTwoWarpsPerBlock() {
        Random r = new Random(11);
        int rows = 2, n = 9001;
        try (Scope scope = Scope.open()) {
            Tensor x = randn(r, rows, n).mul(4f), gx = x.to(CUDA);
            Tensor y = Tensor.zeros(rows, n), gy = Tensor.zeros(DType.F32, CUDA, rows, n);
            cpu.softmax(x, y, rows, n, true);
            gpu.softmax(gx, gy, rows, n, true);
            assertSame("logSoftmax 2x9001", 1e-4, 1e-5, y, gy);
            Tensor targets = Tensor.ofLongs(new long[] {9000, 17}, rows), loss = Tensor.zeros(rows), lse = Tensor.zeros(rows);
            Tensor gloss = Tensor.zeros(DType.F32, CUDA, rows), glse = Tensor.zeros(DType.F32, CUDA, rows);
            cpu.crossEntropy(x, targets, -100, loss, lse, rows, n);
            gpu.crossEntropy(gx, targets.to(CUDA), -100, gloss, glse, rows, n);
            assertSame("crossEntropy 2x9001", 1e-4, 1e-5, loss, gloss);
            Tensor out = Tensor.zeros(DType.I64, Device.CPU, rows), gout = Tensor.zeros(DType.I64, CUDA, rows);
            cpu.reduce(ReduceOp.ARGMAX, x, rows, n, 1, out);
            gpu.reduce(ReduceOp.ARGMAX, gx, rows, n, 1, gout);
            assertSame("argmax 2x9001", 0, 0, out, gout);
        }
    }

    /** Empty products: k = 0 leaves beta * C, as cuBLAS and the CPU backend define it. */
    @Test
    void gemmOverAnEmptyInnerDimension() {
        try (Scope scope = Scope.open()) {
            Tensor c = randn(new Random(5), 3, 4), gc = c.to(CUDA);
            Tensor a = Tensor.zeros(3, 1), b = Tensor.zeros(1, 4);
            cpu.gemm(false, false, 1, 3, 4, 0, a, 1, 0, b, 4, 0, 0.5f, c, 4, 12);
            gpu.gemm(false, false, 1, 3, 4, 0, a.to(CUDA), 1, 0, b.to(CUDA), 4, 0, 0.5f, gc, 4, 12);
            assertSame("gemm k=0", 0, 0, c, gc);
        }
    }

    @Test
    void reductionsOverAnyMiddleAxis() {
        qt().withExamples(25).forAll(integers().between(1, 7), integers().between(1, 700), integers().between(1, 9),
                integers().between(0, 1 << 20)).checkAssert((outer, n, inner, seed) -> {
                    try (Scope scope = Scope.open()) {
                        Tensor x = randn(new Random(seed), outer, n, inner);
                        Tensor gx = x.to(CUDA);
                        for (ReduceOp op : ReduceOp.values()) {
                            DType outType = op == ReduceOp.ARGMAX ? DType.I64 : DType.F32;
                            Tensor expected = Tensor.zeros(outType, Device.CPU, outer, inner);
                            Tensor actual = Tensor.zeros(outType, CUDA, outer, inner);
                            cpu.reduce(op, x, outer, n, inner, expected);
                            gpu.reduce(op, gx, outer, n, inner, actual);
                            assertSame(op + " " + outer + "x" + n + "x" + inner, 1e-4, 1e-4, expected, actual);
                        }
                    }
                });
    }

    @Test
    void gemmWithTransposesBatchesAndPaddedLeadingDimensions() {
        qt().withExamples(30).forAll(integers().between(1, 37), integers().between(1, 37), integers().between(1, 37),
                integers().between(0, (1 << 24) - 1)).checkAssert((m, n, k, draw) -> {
                    try (Scope scope = Scope.open()) {
                        Random r = new Random(draw >> 4);
                        int flags = draw & 15;
                        boolean ta = (flags & 1) != 0, tb = (flags & 2) != 0;
                        int batch = 1 + (flags >> 2) % 3;
                        int pad = flags >> 3;   // 0 or 1 spare column in every row
                        int aRows = ta ? k : m, aCols = (ta ? m : k) + pad, bRows = tb ? n : k, bCols = (tb ? k : n) + pad;
                        Tensor a = randn(r, batch, aRows, aCols), b = randn(r, batch, bRows, bCols);
                        Tensor c = randn(r, batch, m, n + pad);
                        float beta = pad == 1 ? 0.5f : 0f;
                        Tensor gc = c.to(CUDA);
                        cpu.gemm(ta, tb, batch, m, n, k, a, aCols, (long) aRows * aCols, b, bCols, (long) bRows * bCols,
                                beta, c, n + pad, (long) m * (n + pad));
                        gpu.gemm(ta, tb, batch, m, n, k, a.to(CUDA), aCols, (long) aRows * aCols, b.to(CUDA), bCols,
                                (long) bRows * bCols, beta, gc, n + pad, (long) m * (n + pad));
                        assertSame("gemm " + m + "x" + n + "x" + k + " ta=" + ta + " tb=" + tb + " batch=" + batch
                                + " pad=" + pad, 1e-4, 1e-4, c, gc);
                    }
                });
    }

    @Test
    void elementwiseIndexingAndOptimizerKernelsOnOddLengths() {
        qt().withExamples(20).forAll(integers().between(1, 3000), integers().between(1, 13), integers().between(0, 1 << 20))
                .checkAssert((n, dim, seed) -> {
                    try (Scope scope = Scope.open()) {
                        Random r = new Random(seed);
                        Tensor x = randn(r, n), dy = randn(r, n), out = Tensor.zeros(n);
                        Tensor gout = Tensor.zeros(DType.F32, CUDA, n);
                        for (UnaryOp op : new UnaryOp[] {UnaryOp.GELU_TANH, UnaryOp.SILU, UnaryOp.EXP}) {
                            cpu.unaryBackward(op, x, dy, out, 0f, 0f);
                            gpu.unaryBackward(op, x.to(CUDA), dy.to(CUDA), gout, 0f, 0f);
                            assertSame(op + " backward n=" + n, 1e-5, 1e-4, out, gout);
                        }
                        int vocab = 1 + r.nextInt(50), count = 1 + n % 40;
                        long[] ids = new long[count];
                        for (int i = 0; i < count; i++) {
                            ids[i] = r.nextInt(vocab);
                        }
                        Tensor weight = randn(r, vocab, dim), idT = Tensor.ofLongs(ids, count), dout = randn(r, count, dim);
                        Tensor e = Tensor.zeros(count, dim), ge = Tensor.zeros(DType.F32, CUDA, count, dim);
                        cpu.embedding(weight, idT, e, count, dim);
                        gpu.embedding(weight.to(CUDA), idT.to(CUDA), ge, count, dim);
                        assertSame("embedding", 0, 0, e, ge);
                        Tensor dw = Tensor.zeros(vocab, dim), gdw = Tensor.zeros(DType.F32, CUDA, vocab, dim);
                        cpu.embeddingBackward(dout, idT, dw, count, dim);
                        gpu.embeddingBackward(dout.to(CUDA), idT.to(CUDA), gdw, count, dim);
                        assertSame("embeddingBackward", 1e-5, 1e-5, dw, gdw);
                        Tensor p = randn(r, n), g = randn(r, n), m = randn(r, n).mul(0.1f), v = randn(r, n).abs();
                        Tensor gp = p.to(CUDA), gm = m.to(CUDA), gv = v.to(CUDA), gg = g.to(CUDA);
                        for (long step = 1; step <= 3; step++) {
                            cpu.adamw(p, g, m, v, 1e-2, 0.9, 0.999, 1e-8, 0.01, step);
                            gpu.adamw(gp, gg, gm, gv, 1e-2, 0.9, 0.999, 1e-8, 0.01, step);
                        }
                        assertSame("adamw p n=" + n, 1e-6, 1e-5, p, gp);
                        assertSame("adamw v n=" + n, 1e-6, 1e-5, v, gv);
                    }
                });
    }
}
