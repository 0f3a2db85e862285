package dev.tessera.core.cpu;

import static dev.tessera.core.Close.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.tessera.core.Backend.BinaryOp;
import dev.tessera.core.Backend.UnaryOp;
import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;
import jdk.incubator.vector.VectorShape;
import org.junit.jupiter.api.Test;

/**
 * Every vector kernel of the CPU backend against its scalar reference, at sizes around the lane
 * count (tails of 0, 1 and L-1 elements) and the register tile. Surefire runs this class once at
 * the machine's width and once each at 128, 256 and 512 bits ({@code tessera.vector.bits}, see
 * core/pom.xml), so the micro-kernels and fallbacks of other CPUs run here too. Sizes stay small:
 * a width wider than the hardware's is emulated in software.
 */
class KernelsAtEveryWidthTest {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final int L = CpuBackend.L;
    /** Lengths with every tail: below one vector, exact multiples, one over, one under. */
    private static final List<Integer> LENGTHS = List.of(1, L - 1, L, L + 1, 2 * L, 3 * L + 5, 4 * L - 1);

    @Test
    void theKernelsUseTheWidthTheSystemPropertyAsksFor() {
        String bits = System.getProperty(VectorWidth.PROPERTY, "");
        VectorShape expected = bits.isBlank() ? VectorShape.preferredShape() : VectorShape.forBitSize(Integer.parseInt(bits));
        assertEquals(expected.vectorBitSize() / 32, L);
        assertEquals(L, Gemm.LANES);
        assertEquals(2 * L, Gemm.NR);
        assertEquals(L == 8 ? 6 : 12, Gemm.MR);
        assertEquals(L >= 8, GemmTranspose.AVAILABLE);
    }

    @Test
    void widthsOtherThan128_256Or512AreRefused() {
        assertEquals(VectorShape.S_128_BIT, VectorWidth.shape("128"));
        assertEquals(VectorShape.S_256_BIT, VectorWidth.shape(" 256 "));
        assertEquals(VectorShape.S_512_BIT, VectorWidth.shape("512"));
        assertEquals(VectorShape.preferredShape(), VectorWidth.shape(""));
        var e = assertThrows(IllegalArgumentException.class, () -> VectorWidth.shape("1024"));
        assertEquals("tessera.vector.bits must be 128, 256 or 512 (or unset for the machine's preferred width), not '1024'",
                e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> VectorWidth.shape("64"));
    }

    /**
     * Row counts 1..4 (the 4-row kernels), 5..MR (the 6- or 12-row ones), past a tile and past
     * MC; column counts within one vector and within two; every transpose, k around the 8 x 8
     * transposes, and all three beta paths.
     */
    @Test
    void gemmMatchesTheReferenceForEveryMicroKernelTransposeAndEdge() {
        int[] ms = {1, 4, 5, Gemm.MR, Gemm.MR + 3, 2 * Gemm.MR + 1};
        int[] ns = {1, L - 1, L, L + 1, 2 * L, 2 * L + 3};
        int[] ks = {1, 8, 17};
        float[] betas = {0f, 1f, 0.5f};
        SplittableRandom random = new SplittableRandom(7);
        try (Arena arena = Arena.ofShared()) {
            for (int m : ms) {
                for (int n : ns) {
                    for (int k : ks) {
                        for (int flags = 0; flags < 4; flags++) {
                            boolean transA = (flags & 1) != 0, transB = (flags & 2) != 0;
                            float beta = betas[random.nextInt(3)];
                            MemorySegment a = random(arena, m * k, random), b = random(arena, k * n, random);
                            MemorySegment c = random(arena, m * n, random), expected = copy(arena, c);
                            long lda = transA ? m : k, ldb = transB ? k : n;
                            Gemm.sgemm(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, beta, c, 0, n);
                            ReferenceGemm.sgemm(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, beta, expected, 0, n);
                            assertClose(expected.toArray(F32), c.toArray(F32), 1e-5, 1e-5,
                                    "m=" + m + " n=" + n + " k=" + k + " transA=" + transA + " transB=" + transB + " beta=" + beta);
                        }
                    }
                }
            }
        }
    }

    /**
     * GemmThin called directly: both kernels (the dot kernel when the wide operand's rows run
     * along k, the axpy kernel when they run across it), one and two groups of eight narrow
     * columns, wide sides with and without a row tail, k with a lane tail and past the dot
     * kernel's 512-float chunk, and all three beta paths.
     */
    @Test
    void thinProductsMatchTheReferenceAtEveryTail() {
        int[] wides = {L, 3 * L + 1};
        int[] narrows = {1, 7, 8, 9, GemmThin.maxNarrow()};
        int[] ks = {L - 1, 2 * L + 3, 600};
        float[] betas = {0f, 1f, 0.5f};
        SplittableRandom random = new SplittableRandom(13);
        try (Arena arena = Arena.ofShared()) {
            for (int wide : wides) {
                for (int narrow : narrows) {
                    for (int k : ks) {
                        for (int flags = 0; flags < 8; flags++) {
                            boolean transA = (flags & 1) != 0, transB = (flags & 2) != 0, narrowM = (flags & 4) != 0;
                            int m = narrowM ? narrow : wide, n = narrowM ? wide : narrow;
                            float beta = betas[random.nextInt(3)];
                            MemorySegment a = random(arena, m * k, random), b = random(arena, k * n, random);
                            MemorySegment c = random(arena, m * n, random), expected = copy(arena, c);
                            long lda = transA ? m : k, ldb = transB ? k : n;
                            GemmThin.multiply(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, beta, c, 0, n);
                            ReferenceGemm.sgemm(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, beta, expected, 0, n);
                            assertClose(expected.toArray(F32), c.toArray(F32), 1e-5, 1e-5,
                                    "m=" + m + " n=" + n + " k=" + k + " transA=" + transA + " transB=" + transB + " beta=" + beta);
                        }
                    }
                }
            }
        }
    }

    @Test
    void gemmOverCacheBlocksMatchesTheReference() {
        // Past KC (deep k, several read-modify-write passes over C) and past MC rows.
        int m = Gemm.MC + 5, n = 2 * Gemm.NR + 1, k = Gemm.KC + 3;
        SplittableRandom random = new SplittableRandom(11);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment a = random(arena, m * k, random), b = random(arena, n * k, random);
            MemorySegment c = arena.allocate((long) m * n * 4), expected = arena.allocate((long) m * n * 4);
            Gemm.sgemm(false, true, m, n, k, a, 0, k, b, 0, k, 0f, c, 0, n);
            ReferenceGemm.sgemm(false, true, m, n, k, a, 0, k, b, 0, k, 0f, expected, 0, n);
            assertClose(expected.toArray(F32), c.toArray(F32), 1e-4, 1e-4, "blocked gemm");
        }
    }

    @Test
    void unaryOpsMatchTheirScalarRuleAtEveryTail() {
        for (int n : LENGTHS) {
            Tensor x = new Rng(n).uniform(-3f, 3f, n);
            Tensor positive = new Rng(n + 1).uniform(0.1f, 4f, n);
            for (UnaryOp op : UnaryOp.values()) {
                float p1 = switch (op) {
                    case POW_SCALAR -> 3f;
                    case CLAMP -> -0.5f;
                    case ADD_SCALAR -> 0.25f;
                    case MUL_SCALAR -> -1.5f;
                    default -> 0f;
                };
                float p2 = op == UnaryOp.CLAMP ? 0.75f : 0f;
                Tensor in = op == UnaryOp.LOG || op == UnaryOp.SQRT || op == UnaryOp.RSQRT ? positive : x;
                Tensor out = Tensor.zeros(n);
                new CpuBackend().unary(op, in, out, p1, p2);
                float[] xs = in.toFloatArray(), expected = new float[n];
                for (int i = 0; i < n; i++) {
                    expected[i] = Elements.unaryScalar(op, xs[i], p1, p2);
                }
                assertClose(expected, out.toFloatArray(), 1e-6, 1e-5, op + " n=" + n);

                Tensor dy = new Rng(n + 2).randn(n), dx = Tensor.zeros(n);
                new CpuBackend().unaryBackward(op, in, dy, dx, p1, p2);
                float[] dys = dy.toFloatArray(), expectedDx = new float[n];
                for (int i = 0; i < n; i++) {
                    expectedDx[i] = dys[i] * Elements.unaryDerivative(op, xs[i], p1, p2);
                }
                assertClose(expectedDx, dx.toFloatArray(), 1e-6, 1e-5, op + " backward n=" + n);
            }
        }
    }

    @Test
    void binaryOpsMatchTheirScalarRuleForContiguousAndBroadcastOperands() {
        for (int n : LENGTHS) {
            Tensor a = new Rng(n).uniform(0.5f, 2f, n), b = new Rng(n + 1).uniform(0.5f, 2f, n);
            Tensor one = Tensor.of(new float[] {1.25f}, 1);
            for (BinaryOp op : List.of(BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.POW,
                    BinaryOp.MAXIMUM, BinaryOp.MINIMUM)) {
                checkBinary(op, a, b, n);
                checkBinary(op, a, one.expand(n), n);
                checkBinary(op, one.expand(n), b, n);
            }
        }
    }

    private static void checkBinary(BinaryOp op, Tensor a, Tensor b, int n) {
        Tensor out = Tensor.zeros(n);
        new CpuBackend().binary(op, a, b, out);
        float[] as = a.contiguous().toFloatArray(), bs = b.contiguous().toFloatArray(), expected = new float[n];
        for (int i = 0; i < n; i++) {
            expected[i] = Elements.binaryScalar(op, as[i], bs[i]);
        }
        assertClose(expected, out.toFloatArray(), 1e-6, 1e-5, op + " n=" + n + " strides " + a.strides()[0] + "," + b.strides()[0]);
    }

    @Test
    void fillWritesEveryElementIncludingTheTail() {
        for (int n : LENGTHS) {
            Tensor whole = Tensor.zeros(n + 2);
            new CpuBackend().fill(whole.narrow(0, 1, n), 2.5);
            float[] all = whole.toFloatArray();
            for (int i = 0; i < n + 2; i++) {
                assertEquals(i == 0 || i == n + 1 ? 0f : 2.5f, all[i], "n=" + n + " element " + i);
            }
        }
    }

    @Test
    void rowReductionsMatchPlainLoops() {
        for (int n : LENGTHS) {
            Tensor x = new Rng(n).uniform(-4f, 4f, 3, n);
            float[] xs = x.toFloatArray();
            float[] sum = new float[3], max = new float[3], min = new float[3], argmax = new float[3];
            for (int r = 0; r < 3; r++) {
                double s = 0;
                float hi = Float.NEGATIVE_INFINITY, lo = Float.POSITIVE_INFINITY;
                int at = 0;
                for (int i = 0; i < n; i++) {
                    float v = xs[r * n + i];
                    s += v;
                    if (v > hi) {
                        hi = v;
                        at = i;
                    }
                    lo = Math.min(lo, v);
                }
                sum[r] = (float) s;
                max[r] = hi;
                min[r] = lo;
                argmax[r] = at;
            }
            assertClose(sum, x.sum(1, false).toFloatArray(), 1e-5, 1e-5, "sum n=" + n);
            assertClose(max, x.max(1, false).toFloatArray(), 0, 0, "max n=" + n);
            assertClose(min, x.min(1, false).toFloatArray(), 0, 0, "min n=" + n);
            float[] arg = new float[3];
            long[] got = x.argmax(1, false).toLongArray();
            for (int r = 0; r < 3; r++) {
                arg[r] = got[r];
            }
            assertClose(argmax, arg, 0, 0, "argmax n=" + n);
        }
    }

    @Test
    void softmaxLogSoftmaxAndTheirBackwardMatchPlainLoops() {
        for (int n : LENGTHS) {
            Tensor x = new Rng(n).uniform(-5f, 5f, 2, n).requiresGrad(true);
            Tensor dy = new Rng(n + 3).randn(2, n);
            float[] xs = x.toFloatArray(), g = dy.toFloatArray();
            float[] soft = new float[2 * n], logSoft = new float[2 * n], dSoft = new float[2 * n], dLog = new float[2 * n];
            for (int r = 0; r < 2; r++) {
                double max = Double.NEGATIVE_INFINITY, z = 0, dot = 0, gsum = 0;
                for (int i = 0; i < n; i++) {
                    max = Math.max(max, xs[r * n + i]);
                }
                for (int i = 0; i < n; i++) {
                    z += Math.exp(xs[r * n + i] - max);
                }
                for (int i = 0; i < n; i++) {
                    int at = r * n + i;
                    soft[at] = (float) (Math.exp(xs[at] - max) / z);
                    logSoft[at] = (float) (xs[at] - max - Math.log(z));
                    dot += g[at] * soft[at];
                    gsum += g[at];
                }
                for (int i = 0; i < n; i++) {
                    int at = r * n + i;
                    dSoft[at] = (float) (soft[at] * (g[at] - dot));
                    dLog[at] = (float) (g[at] - soft[at] * gsum);
                }
            }
            Tensor y = x.softmax(1);
            assertClose(soft, y.toFloatArray(), 1e-6, 1e-5, "softmax n=" + n);
            y.backward(dy);
            assertClose(dSoft, x.grad().toFloatArray(), 1e-5, 1e-4, "softmax backward n=" + n);
            x.zeroGrad();
            Tensor ly = x.logSoftmax(1);
            assertClose(logSoft, ly.toFloatArray(), 1e-5, 1e-5, "logSoftmax n=" + n);
            ly.backward(dy);
            assertClose(dLog, x.grad().toFloatArray(), 1e-5, 1e-4, "logSoftmax backward n=" + n);
        }
    }

    @Test
    void layerNormAndRmsNormMatchPlainLoops() {
        for (int n : LENGTHS) {
            float eps = 1e-5f;
            Tensor x = new Rng(n).uniform(-2f, 3f, 2, n);
            Tensor w = new Rng(n + 1).uniform(0.5f, 1.5f, n), b = new Rng(n + 2).randn(n);
            float[] xs = x.toFloatArray(), ws = w.toFloatArray(), bs = b.toFloatArray();
            float[] ln = new float[2 * n], rms = new float[2 * n];
            for (int r = 0; r < 2; r++) {
                double mean = 0, sq = 0, var = 0;
                for (int i = 0; i < n; i++) {
                    mean += xs[r * n + i];
                    sq += (double) xs[r * n + i] * xs[r * n + i];
                }
                mean /= n;
                for (int i = 0; i < n; i++) {
                    var += (xs[r * n + i] - mean) * (xs[r * n + i] - mean);
                }
                var /= n;
                for (int i = 0; i < n; i++) {
                    int at = r * n + i;
                    ln[at] = (float) ((xs[at] - mean) / Math.sqrt(var + eps) * ws[i] + bs[i]);
                    rms[at] = (float) (xs[at] / Math.sqrt(sq / n + eps) * ws[i]);
                }
            }
            assertClose(ln, x.layerNorm(w, b, eps).toFloatArray(), 1e-4, 1e-4, "layerNorm n=" + n);
            assertClose(rms, x.rmsNorm(w, eps).toFloatArray(), 1e-5, 1e-4, "rmsNorm n=" + n);
        }
    }

    @Test
    void crossEntropyMatchesAPlainLogSumExp() {
        for (int n : LENGTHS) {
            Tensor logits = new Rng(n).uniform(-3f, 3f, 3, n);
            long[] targets = {0, n - 1, n / 2};
            float[] xs = logits.toFloatArray();
            double total = 0;
            for (int r = 0; r < 3; r++) {
                double max = Double.NEGATIVE_INFINITY, z = 0;
                for (int i = 0; i < n; i++) {
                    max = Math.max(max, xs[r * n + i]);
                }
                for (int i = 0; i < n; i++) {
                    z += Math.exp(xs[r * n + i] - max);
                }
                total += max + Math.log(z) - xs[r * n + (int) targets[r]];
            }
            float loss = logits.crossEntropy(Tensor.ofLongs(targets, 3)).item();
            assertEquals(total / 3, loss, 1e-5 * Math.max(1, Math.abs(total / 3)), "n=" + n);
        }
    }

    @Test
    void adamwVectorAndTailElementsTakeTheSameStep() {
        int n = 3 * L + 5;
        Tensor p = new Rng(1).randn(n), g = new Rng(2).randn(n);
        Tensor m = new Rng(3).uniform(-0.1f, 0.1f, n), v = new Rng(4).uniform(0f, 0.1f, n);
        float[] ps = p.toFloatArray(), gs = g.toFloatArray(), ms = m.toFloatArray(), vs = v.toFloatArray();
        double lr = 1e-2, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        long step = 3;
        new CpuBackend().adamw(p, g, m, v, lr, b1, b2, eps, wd, step);
        float[] expected = new float[n];
        for (int i = 0; i < n; i++) {
            double mi = b1 * ms[i] + (1 - b1) * gs[i], vi = b2 * vs[i] + (1 - b2) * gs[i] * gs[i];
            double mhat = mi / (1 - Math.pow(b1, step)), denom = Math.sqrt(vi) / Math.sqrt(1 - Math.pow(b2, step)) + eps;
            expected[i] = (float) (ps[i] * (1 - lr * wd) - lr * mhat / denom);
        }
        assertClose(expected, p.toFloatArray(), 1e-5, 1e-4, "adamw");
    }

    @Test
    void rowHelpersMatchPlainLoops() {
        try (Arena arena = Arena.ofShared()) {
            for (int n : LENGTHS) {
                SplittableRandom random = new SplittableRandom(n);
                MemorySegment a = random(arena, n + 3, random), b = random(arena, n + 3, random);
                float[] as = a.toArray(F32), bs = b.toArray(F32);
                double sum = 0, dot = 0, ssd = 0;
                float max = Float.NEGATIVE_INFINITY, maxNeg = Float.NEGATIVE_INFINITY;
                for (int i = 3; i < n + 3; i++) {
                    sum += as[i];
                    dot += (double) as[i] * bs[i];
                    ssd += (as[i] - 0.25) * (as[i] - 0.25);
                    max = Math.max(max, as[i]);
                    maxNeg = Math.max(maxNeg, -as[i]);
                }
                assertEquals(sum, Rows.sum(a, 12, n), 1e-5, "sum n=" + n);
                assertEquals(dot, Rows.dot(a, 12, b, 12, n), 1e-5, "dot n=" + n);
                assertEquals(ssd, Rows.sumSquaredDiff(a, 12, n, 0.25f), 1e-5, "sumSquaredDiff n=" + n);
                assertEquals(max, Rows.max(a, 12, n), "max n=" + n);
                assertEquals(maxNeg, Rows.maxNeg(a, 12, n), "maxNeg n=" + n);
                MemorySegment dst = copy(arena, b);
                Rows.addInto(a, 12, dst, 12, n);
                float[] added = dst.toArray(F32);
                for (int i = 0; i < n + 3; i++) {
                    assertEquals(i < 3 ? bs[i] : as[i] + bs[i], added[i], "addInto n=" + n + " element " + i);
                }
            }
        }
    }

    private static MemorySegment random(Arena arena, int count, SplittableRandom random) {
        MemorySegment s = arena.allocate((long) count * 4);
        for (int i = 0; i < count; i++) {
            s.setAtIndex(F32, i, (float) (random.nextDouble() * 2 - 1));
        }
        return s;
    }

    private static MemorySegment copy(Arena arena, MemorySegment s) {
        return arena.allocate(s.byteSize()).copyFrom(s);
    }
}
