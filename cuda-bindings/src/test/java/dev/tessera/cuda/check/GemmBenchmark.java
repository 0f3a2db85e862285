package dev.tessera.cuda.check;

import dev.tessera.core.Backend;
import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.cuda.backend.CudaBackend;
import dev.tessera.cuda.backend.MemoryInfo;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * SGEMM throughput of cuBLAS through the CUDA backend against the CPU backend, for 4096³ and the
 * GEMMs of a GPT-2 small step (B·T = 4096 tokens, C = 768). A shape runs on the GPU only when its
 * three matrices fit in 90% of the memory cuMemGetInfo reports free.
 */
final class GemmBenchmark {
    /** A row-major product C[m,n] = A[m,k]·op(B) where B is stored [n,k] when transB (a linear layer's weight). */
    record Shape(String name, int m, int n, int k, boolean transB) {
        double flops() {
            return 2.0 * m * n * k;
        }

        long bytes() {
            return 4L * ((long) m * k + (long) k * n + (long) m * n);
        }
    }

    record Result(Shape shape, double gpuGflops, double cpuGflops, String note) {
        String line() {
            String gpu = Double.isNaN(gpuGflops) ? "-" : String.format("%.0f", gpuGflops);
            String cpu = Double.isNaN(cpuGflops) ? "-" : String.format("%.1f", cpuGflops);
            return String.format("  %-34s GPU %8s GFLOP/s   CPU %8s GFLOP/s%s", shape.name() + " " + shape.m() + "x" + shape.n()
                    + "x" + shape.k(), gpu, cpu, note.isEmpty() ? "" : "   (" + note + ")");
        }
    }

    static final List<Shape> SHAPES = List.of(
            new Shape("square", 4096, 4096, 4096, false),
            new Shape("gpt2 attn qkv", 4096, 2304, 768, true),
            new Shape("gpt2 attn proj", 4096, 768, 768, true),
            new Shape("gpt2 mlp fc", 4096, 3072, 768, true),
            new Shape("gpt2 mlp proj", 4096, 768, 3072, true),
            new Shape("gpt2 lm head", 4096, 50257, 768, true));

    private GemmBenchmark() {}

    static List<Result> run(double cpuSecondsPerShape) {
        CudaBackend gpu = (CudaBackend) Backends.of(Device.cuda(0));
        List<Result> out = new ArrayList<>();
        for (Shape s : SHAPES) {
            try (var scope = Scope.open()) {
                gpu.releaseCached();
                MemoryInfo info = gpu.memoryInfo();
                if (s.bytes() > 0.9 * info.freeBytes()) {
                    out.add(new Result(s, Double.NaN, Double.NaN, "skipped: needs " + (s.bytes() >> 20) + " MiB, "
                            + (info.freeBytes() >> 20) + " MiB free"));
                    continue;
                }
                Random r = new Random(1);
                Tensor a = random(r, s.m(), s.k()), b = s.transB() ? random(r, s.n(), s.k()) : random(r, s.k(), s.n());
                double gpuGflops = time(gpu, s, a.to(Device.cuda(0)), b.to(Device.cuda(0)), 0.5, 3) ;
                double cpuGflops = time(Backends.cpu(), s, a, b, cpuSecondsPerShape, 1);
                out.add(new Result(s, gpuGflops, cpuGflops, ""));
            }
        }
        return out;
    }

    private static Tensor random(Random r, int rows, int cols) {
        float[] x = new float[rows * cols];
        for (int i = 0; i < x.length; i++) {
            x[i] = r.nextFloat() - 0.5f;
        }
        return Tensor.of(x, rows, cols);
    }

    /** GFLOP/s over repeated products for about {@code seconds}, after {@code warmup} untimed ones. */
    private static double time(Backend backend, Shape s, Tensor a, Tensor b, double seconds, int warmup) {
        Tensor c = Tensor.empty(DType.F32, a.device(), s.m(), s.n());
        long ldb = s.transB() ? s.k() : s.n();
        Runnable once = () -> backend.gemm(false, s.transB(), 1, s.m(), s.n(), s.k(), a, s.k(), 0, b, ldb, 0, 0f, c, s.n(), 0);
        for (int i = 0; i < warmup; i++) {
            once.run();
        }
        sync(backend);
        int iterations = 0;
        long start = System.nanoTime();
        do {
            once.run();
            iterations++;
            if (iterations % 5 == 0 || !(backend instanceof CudaBackend)) {
                sync(backend);
            }
        } while (System.nanoTime() - start < seconds * 1e9 && iterations < 200);
        sync(backend);
        double elapsed = (System.nanoTime() - start) / 1e9;
        return s.flops() * iterations / elapsed / 1e9;
    }

    private static void sync(Backend backend) {
        if (backend instanceof CudaBackend cuda) {
            cuda.synchronize();
        }
    }
}
