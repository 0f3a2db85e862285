package dev.tessera.examples.bench;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GEMM throughput: Tessera's backend GEMM ({@link Backend#gemm}) against PyTorch's {@code torch.matmul} on the same
 * shapes and thread count, for 1024^3 and the GPT-2 (124M) training shapes at 256 tokens.
 * PyTorch runs through {@code tools/bench/torch_matmul.py} with the repo's {@code .venv}; without
 * it only Tessera's numbers are printed.
 *
 * <pre>{@code
 * java --add-modules jdk.incubator.vector -cp ... dev.tessera.examples.bench.GemmBenchmark [--threads N] [--repeat R]
 * }</pre>
 */
public final class GemmBenchmark {
    /** One product C[m,n] = op(A)[m,k] · op(B)[k,n]. */
    private record Shape(String name, int m, int n, int k, boolean transA, boolean transB) {
        String dims() {
            return m + "x" + k + (transA ? "ᵀ" : "") + " · " + k + "x" + n + (transB ? "ᵀ" : "");
        }
    }

    private static final List<Shape> FORWARD = List.of(
            new Shape("square", 1024, 1024, 1024, false, false),
            new Shape("c_attn", 256, 2304, 768, false, false),
            new Shape("mlp.c_fc", 256, 3072, 768, false, false),
            new Shape("mlp.c_proj", 256, 768, 3072, false, false),
            new Shape("lm_head", 256, 50257, 768, false, false));

    private GemmBenchmark() {}

    /** One measurement: GFLOP/s at the median, fastest and slowest timed call, and how long warm-up took. */
    public record Result(double gflops, double fastest, double slowest, int warmupCalls, double warmupSeconds) {}

    /** Median GFLOP/s of the CPU backend's {@code gemm(transA, transB, 1, m, n, k, ...)}; see {@link #measure}. */
    public static double measureGflops(int m, int n, int k, boolean transA, boolean transB, int repeat) {
        return measure(Device.CPU, m, n, k, transA, transB, repeat).gflops();
    }

    /**
     * Times {@code device}'s backend {@code gemm(transA, transB, 1, m, n, k, ...)} on random data
     * with tight leading dimensions, each call ended by a device synchronisation: 2*m*n*k over
     * the median (and the fastest and slowest) of {@code repeat} timed calls.
     *
     * <p>Warm-up runs until the timings are stable, because the Vector API is only fast once C2
     * has compiled the micro-kernel and the packing loops (the first calls run interpreted, 5 to
     * 10 times slower, and C2 recompiles the packing loops for a while after the kernel is fast):
     * calls repeat for at least 3 s and 20 calls, then until the median of the last ten is within
     * 3% of the median of the ten before, for at most 30 s. A shorter minimum let a five-call run
     * report 0.6x the long-run figure when C2 was still at work.
     */
    public static Result measure(Device device, int m, int n, int k, boolean transA, boolean transB, int repeat) {
        if (m < 1 || n < 1 || k < 1 || repeat < 1) {
            throw new IllegalArgumentException("gemm benchmark needs m, n, k, repeat >= 1, got m=" + m
                    + " n=" + n + " k=" + k + " repeat=" + repeat);
        }
        Backend backend = Backends.of(device);
        try (var scope = Scope.open()) {
            Tensor a = random(device, (long) m * k, 1);
            Tensor b = random(device, (long) k * n, 2);
            Tensor c = Tensor.zeros(DType.F32, device, m * n);
            long lda = transA ? m : k, ldb = transB ? k : n;
            Runnable call = () -> {
                backend.gemm(transA, transB, 1, m, n, k, a, lda, 0, b, ldb, 0, 0f, c, n, 0);
                backend.synchronize();
            };
            double flops = 2.0 * m * n * k;
            long start = System.nanoTime();
            List<Double> warm = new ArrayList<>();
            while (true) {
                warm.add(time(call));
                double elapsed = (System.nanoTime() - start) * 1e-9;
                int w = warm.size();
                if (elapsed > 30) {
                    break;
                }
                if (w >= 20 && elapsed >= 3) {
                    double last = median(warm.subList(w - 10, w)), before = median(warm.subList(w - 20, w - 10));
                    if (Math.abs(last - before) <= 0.03 * before) {
                        break;
                    }
                }
            }
            double warmupSeconds = (System.nanoTime() - start) * 1e-9;
            List<Double> seconds = new ArrayList<>();
            for (int r = 0; r < repeat; r++) {
                seconds.add(time(call));
            }
            return new Result(flops / median(seconds) / 1e9, flops / Collections.min(seconds) / 1e9,
                    flops / Collections.max(seconds) / 1e9, warm.size(), warmupSeconds);
        }
    }

    private static double time(Runnable call) {
        long t0 = System.nanoTime();
        call.run();
        return (System.nanoTime() - t0) * 1e-9;
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    }

    private static Tensor random(Device device, long count, long seed) {
        float[] values = new float[Math.toIntExact(count)];
        SplittableRandom rng = new SplittableRandom(seed);
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return Tensor.of(values, values.length).to(device);
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        int repeat = 10;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--threads" -> Backends.setCpuThreads(Integer.parseInt(args[++i]));
                case "--repeat" -> repeat = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: GemmBenchmark [--threads N] [--repeat R]");
                    System.exit(2);
                }
            }
        }
        int threads = Backends.cpuThreads();
        System.out.printf("Tessera sgemm vs torch.matmul, float32, %d threads, %s species%n",
                threads, jdk.incubator.vector.FloatVector.SPECIES_PREFERRED);
        Map<String, Double> torch = torchGflops(FORWARD, threads);

        System.out.printf("%n%-11s %-22s %10s %10s %7s%n", "shape", "m x k · k x n", "Tessera", "PyTorch", "ratio");
        for (Shape s : FORWARD) {
            double ours = measureGflops(s.m, s.n, s.k, false, false, repeat);
            Double theirs = torch.get(s.m + "x" + s.k + "x" + s.n);
            System.out.printf("%-11s %-22s %10.1f %10s %7s%n", s.name, s.dims(), ours,
                    theirs == null ? "-" : String.format("%.1f", theirs),
                    theirs == null ? "-" : String.format("%.2f", ours / theirs));
        }

        // Training also runs each layer's backward: with the weight W stored [in,out], the input
        // gradient is dY·Wᵀ and the weight gradient Xᵀ·dY; with W stored [out,in] (Hugging Face
        // nn.Linear) the forward itself is X·Wᵀ. None should be far slower than the forward.
        System.out.printf("%nGPT-2 layer GEMMs, Tessera GFLOP/s "
                + "(forward X·W, X·Wᵀ; backward dY·Wᵀ, Xᵀ·dY)%n");
        System.out.printf("%-11s %10s %10s %10s %10s%n", "layer", "X·W", "X·Wᵀ", "dY·Wᵀ", "Xᵀ·dY");
        for (Shape s : FORWARD.subList(1, FORWARD.size())) {
            System.out.printf("%-11s %10.1f %10.1f %10.1f %10.1f%n", s.name,
                    measureGflops(s.m, s.n, s.k, false, false, repeat),
                    measureGflops(s.m, s.n, s.k, false, true, repeat),
                    measureGflops(s.m, s.k, s.n, false, true, repeat),
                    measureGflops(s.k, s.n, s.m, true, false, repeat));
        }
    }

    /** Runs tools/bench/torch_matmul.py; GFLOP/s keyed "MxKxN", or empty if PyTorch is missing. */
    private static Map<String, Double> torchGflops(List<Shape> shapes, int threads)
            throws IOException, InterruptedException {
        Map<String, Double> result = new HashMap<>();
        Path root = repoRoot();
        Path python = root == null ? null : root.resolve(".venv/bin/python");
        Path script = root == null ? null : root.resolve("tools/bench/torch_matmul.py");
        if (python == null || !Files.isExecutable(python) || !Files.isRegularFile(script)) {
            System.out.println("PyTorch unavailable: no .venv/bin/python and tools/bench/torch_matmul.py"
                    + " above the working directory (run tools/setup-python.sh)");
            return result;
        }
        List<String> command = new ArrayList<>(List.of(python.toString(), script.toString(),
                "--threads", Integer.toString(threads)));
        for (Shape s : shapes) {
            command.add(s.m + "x" + s.k + "x" + s.n);
        }
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        Pattern field = Pattern.compile("\"(m|n|k|gflops)\"\\s*:\\s*([0-9.eE+-]+)");
        List<String> other = new ArrayList<>();
        try (BufferedReader out = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                Map<String, String> values = new HashMap<>();
                Matcher matcher = field.matcher(line);
                while (matcher.find()) {
                    values.put(matcher.group(1), matcher.group(2));
                }
                if (values.size() == 4) {
                    result.put(values.get("m") + "x" + values.get("k") + "x" + values.get("n"),
                            Double.parseDouble(values.get("gflops")));
                } else {
                    other.add(line);
                }
            }
        }
        int exit = process.waitFor();
        if (exit != 0) {
            System.out.println("PyTorch unavailable: torch_matmul.py exited " + exit
                    + (other.isEmpty() ? "" : ": " + other.getLast()));
        }
        return result;
    }

    private static Path repoRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("tools/bench/torch_matmul.py"))) {
                return dir;
            }
        }
        return null;
    }
}
