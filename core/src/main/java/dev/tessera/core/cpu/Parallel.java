package dev.tessera.core.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.ArrayList;
import java.util.List;

/**
 * The CPU backend's fixed worker pool, sized to the cores once (or to {@code tessera.threads} /
 * {@link #setThreads}). Work is split into at most {@link #threads()} contiguous chunks, so a
 * parallel loop costs one task per core, not one per index.
 */
public final class Parallel {
    private static volatile ForkJoinPool pool = newPool(defaultThreads());

    private Parallel() {}

    private static int defaultThreads() {
        String configured = System.getProperty("tessera.threads");
        if (configured != null) {
            return Math.max(1, Integer.parseInt(configured));
        }
        return Runtime.getRuntime().availableProcessors();
    }

    private static ForkJoinPool newPool(int threads) {
        return new ForkJoinPool(threads, p -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("tessera-cpu-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    /** Number of worker threads. */
    public static int threads() {
        return pool.getParallelism();
    }

    /** Replaces the pool with one of {@code n} threads (the CLI's {@code --threads}). */
    public static synchronized void setThreads(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + n);
        }
        if (n != threads()) {
            ForkJoinPool old = pool;
            pool = newPool(n);
            old.shutdown();
        }
    }

    /** Body of a parallel loop over the half-open range [from, to). */
    @FunctionalInterface
    public interface RangeBody {
        void run(long from, long to);
    }

    /**
     * Runs {@code body} over [0, n) split into chunks of at least {@code grain} indices.
     * Runs inline when the work is small or we are already on a worker thread.
     */
    public static void forRange(long n, long grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int threads = threads();
        long chunks = Math.min(threads, Math.max(1, n / Math.max(1, grain)));
        if (chunks <= 1 || Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == pool) {
            body.run(0, n);
            return;
        }
        List<ForkJoinTask<?>> tasks = new ArrayList<>((int) chunks);
        long step = (n + chunks - 1) / chunks;
        for (long start = step; start < n; start += step) {
            long s = start, e = Math.min(n, start + step);
            tasks.add(pool.submit(() -> body.run(s, e)));
        }
        body.run(0, Math.min(n, step));
        for (ForkJoinTask<?> t : tasks) {
            t.join();
        }
    }
}
