package dev.tessera.core.cpu;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Tensor;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The CPU backend's fused kernels at GPT-2 124M training sizes (256 tokens, width 768, 12 heads of
 * 64 x 64 attention scores), through the Backend SPI on all worker threads: softmax and its
 * backward, layer norm and its backward, and the AdamW update over one 768 x 2304 weight. They are
 * memory-bound, so compare bytes moved / time with the machine's copy bandwidth.
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class FusedOpsBench extends KernelBenchmark {
    private static final int TOKENS = 256, WIDTH = 768, SCORE_ROWS = 4 * 12 * 64, SCORE_COLS = 64;
    private final Backend cpu = Backends.cpu();
    private Tensor scores, probs, dProbs, dScores;
    private Tensor x, w, bias, y, mean, rstd, dy, dx, dw, db;
    private Tensor param, grad, m, v;

    @Setup(Level.Trial)
    public void setUp() {
        scores = random(1, SCORE_ROWS, SCORE_COLS);
        probs = Tensor.empty(DType.F32, SCORE_ROWS, SCORE_COLS);
        dProbs = random(2, SCORE_ROWS, SCORE_COLS);
        dScores = Tensor.empty(DType.F32, SCORE_ROWS, SCORE_COLS);
        cpu.softmax(scores, probs, SCORE_ROWS, SCORE_COLS, false);
        x = random(3, TOKENS, WIDTH);
        w = random(4, WIDTH);
        bias = random(5, WIDTH);
        y = Tensor.empty(DType.F32, TOKENS, WIDTH);
        mean = Tensor.empty(DType.F32, TOKENS);
        rstd = Tensor.empty(DType.F32, TOKENS);
        dy = random(6, TOKENS, WIDTH);
        dx = Tensor.empty(DType.F32, TOKENS, WIDTH);
        dw = Tensor.empty(DType.F32, WIDTH);
        db = Tensor.empty(DType.F32, WIDTH);
        cpu.layerNorm(x, w, bias, 1e-5f, y, mean, rstd, TOKENS, WIDTH);
        param = random(7, WIDTH, 3 * WIDTH);
        grad = random(8, WIDTH, 3 * WIDTH);
        m = Tensor.zeros(WIDTH, 3 * WIDTH);
        v = Tensor.zeros(WIDTH, 3 * WIDTH);
    }

    @Benchmark
    public Tensor softmax() {
        cpu.softmax(scores, probs, SCORE_ROWS, SCORE_COLS, false);
        return probs;
    }

    @Benchmark
    public Tensor softmaxBackward() {
        cpu.softmaxBackward(probs, dProbs, dScores, SCORE_ROWS, SCORE_COLS, false);
        return dScores;
    }

    @Benchmark
    public Tensor layerNorm() {
        cpu.layerNorm(x, w, bias, 1e-5f, y, mean, rstd, TOKENS, WIDTH);
        return y;
    }

    @Benchmark
    public Tensor layerNormBackward() {
        cpu.layerNormBackward(x, w, mean, rstd, dy, dx, dw, db, TOKENS, WIDTH);
        return dx;
    }

    @Benchmark
    public Tensor adamw() {
        cpu.adamw(param, grad, m, v, 1e-4, 0.9, 0.999, 1e-8, 0.0, 10);
        return param;
    }

    private static Tensor random(long seed, int... shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        float[] data = new float[n];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            data[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return Tensor.of(data, shape);
    }
}
