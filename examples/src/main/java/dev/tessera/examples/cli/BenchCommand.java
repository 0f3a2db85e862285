package dev.tessera.examples.cli;

import dev.tessera.core.Backends;
import dev.tessera.core.Device;
import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.examples.bench.GemmBenchmark;
import dev.tessera.examples.bench.Linear4bitBenchmark;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera bench gemm|train}: measurements printed as one JSON line. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks: GEMM throughput, training step time, 4-bit linear layers.",
        subcommands = {BenchCommand.Gemm.class, BenchTrain.class, BenchCommand.Linear4bit.class})
public final class BenchCommand implements Runnable {
    @Override
    public void run() {
        throw new UsageException("bench needs a subcommand: gemm or train (see 'tessera bench --help')");
    }

    @Command(name = "gemm", mixinStandardHelpOptions = true, description = {"Time C = A·B in F32 after a warm-up that runs until timings are stable; one JSON line:",
            "gflops (median of the repeats), gflops_min/max (slowest/fastest repeat), the warm-up, and on the CPU",
            "peak_gflops (this machine's measured FMA throughput on the same threads) with gemm_share_of_peak."})
    public static final class Gemm implements Callable<Integer> {
        @Mixin
        CommonOptions common;

        @Option(names = "--m", required = true, description = "Rows of A and C.")
        int m;

        @Option(names = "--n", required = true, description = "Columns of B and C.")
        int n;

        @Option(names = "--k", required = true, description = "Columns of A, rows of B.")
        int k;

        @Option(names = "--trans-a", description = "A is given transposed ([k, m] in memory).")
        boolean transA;

        @Option(names = "--trans-b", description = "B is given transposed ([n, k] in memory).")
        boolean transB;

        @Option(names = "--repeat", defaultValue = "10", description = "Timed repetitions after warm-up (default: ${DEFAULT-VALUE}).")
        int repeat;

        @Override
        public Integer call() {
            Device device = common.device();
            if (m < 1 || n < 1 || k < 1) {
                throw new UsageException("--m, --n and --k must be >= 1");
            }
            if (repeat < 1) {
                throw new UsageException("--repeat must be >= 1");
            }
            if ((long) m * k + (long) k * n + (long) m * n > 1L << 31) {
                throw new UsageException("matrices too large for one benchmark (over 2^31 floats in all)");
            }
            GemmBenchmark.Result r = GemmBenchmark.measure(device, m, n, k, transA, transB, repeat);
            String peak = "";
            if (device.isCpu()) {
                double p = Backends.cpuPeakGflops();
                peak = String.format(Locale.ROOT, ", \"peak_gflops\": %.1f, \"gemm_share_of_peak\": %.3f", p, r.gflops() / p);
            }
            System.out.printf(Locale.ROOT, "{\"m\": %d, \"n\": %d, \"k\": %d, \"gflops\": %.3f, \"gflops_min\": %.3f, "
                    + "\"gflops_max\": %.3f, \"repeats\": %d, \"warmup_calls\": %d, \"warmup_s\": %.2f, \"threads\": %d%s}%n",
                    m, n, k, r.gflops(), r.slowest(), r.fastest(), repeat, r.warmupCalls(), r.warmupSeconds(),
                    Backends.cpuThreads(), peak);
            return 0;
        }
    }

    @Command(name = "linear4bit", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "Time Linear4bit (NF4, double quant) against an F32 Linear of GPT-2 small's shapes, forward and forward + input "
                    + "gradient; prints a table (best of the repeats).")
    public static final class Linear4bit implements Callable<Integer> {
        @Mixin
        CommonOptions common;

        @Option(names = "--tokens", defaultValue = "512", description = "Rows of the input (a 1-row run comes first).")
        int tokens;

        @Option(names = "--repeat", defaultValue = "10", description = "Timed repetitions after warm-up.")
        int repeat;

        @Option(names = "--gpt2", description = "Also quantize a randomly initialised GPT-2 small and print its memory.")
        boolean gpt2;

        @Override
        public Integer call() {
            common.apply();
            if (tokens < 1 || repeat < 1) {
                throw new UsageException("--tokens and --repeat must be >= 1");
            }
            Linear4bitBenchmark.run(tokens, repeat, gpt2);
            return 0;
        }
    }
}
