package dev.tessera.core.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ParallelTest {
    private int saved;

    @BeforeEach
    void fourThreads() {
        saved = Parallel.threads();
        Parallel.setThreads(4);
    }

    @AfterEach
    void restore() {
        Parallel.setThreads(saved);
    }

    private static List<long[]> chunks(long n, long grain) {
        List<long[]> chunks = Collections.synchronizedList(new ArrayList<>());
        Parallel.forRange(n, grain, (from, to) -> chunks.add(new long[] {from, to}));
        chunks.sort((a, b) -> Long.compare(a[0], b[0]));
        return chunks;
    }

    @Test
    void everyIndexRunsExactlyOnceInContiguousChunks() {
        for (long n : new long[] {1, 3, 4, 5, 17, 100, 1001}) {
            AtomicIntegerArray seen = new AtomicIntegerArray((int) n);
            Parallel.forRange(n, 1, (from, to) -> {
                for (long i = from; i < to; i++) {
                    seen.incrementAndGet((int) i);
                }
            });
            for (int i = 0; i < n; i++) {
                assertEquals(1, seen.get(i), "n=" + n + " index " + i);
            }
        }
    }

    @Test
    void workSplitsIntoAtMostOneChunkPerThreadOfAtLeastTheGrain() {
        List<long[]> four = chunks(100, 1);
        assertEquals(4, four.size());
        long[][] expected = {{0, 25}, {25, 50}, {50, 75}, {75, 100}};
        for (int i = 0; i < 4; i++) {
            assertEquals(expected[i][0], four.get(i)[0]);
            assertEquals(expected[i][1], four.get(i)[1]);
        }
        assertEquals(2, chunks(100, 50).size(), "100 / grain 50 = 2 chunks");
        assertEquals(3, chunks(10, 3).size(), "10 / grain 3 = 3 chunks");
        List<long[]> one = chunks(100, 51);
        assertEquals(1, one.size(), "less than two grains runs inline");
        assertEquals(0, one.get(0)[0]);
        assertEquals(100, one.get(0)[1]);
        assertEquals(4, chunks(100, 0).size(), "grain 0 counts as 1");
        List<long[]> uneven = chunks(10, 1);
        assertEquals(4, uneven.size());
        assertEquals(9, uneven.get(3)[0], "steps of ceil(10/4) = 3");
        assertEquals(10, uneven.get(3)[1]);
    }

    @Test
    void emptyAndNegativeRangesRunNothing() {
        assertTrue(chunks(0, 1).isEmpty());
        assertTrue(chunks(-5, 1).isEmpty());
    }

    @Test
    void smallWorkAndNestedLoopsRunOnTheCallingThread() {
        Thread caller = Thread.currentThread();
        List<Thread> ran = Collections.synchronizedList(new ArrayList<>());
        Parallel.forRange(3, 10, (from, to) -> ran.add(Thread.currentThread()));
        assertEquals(List.of(caller), ran);
        // A loop inside a chunk that runs on a worker runs whole on that worker.
        List<String> inner = Collections.synchronizedList(new ArrayList<>());
        Parallel.forRange(4, 1, (from, to) -> {
            Thread outer = Thread.currentThread();
            if (outer instanceof java.util.concurrent.ForkJoinWorkerThread) {
                Parallel.forRange(100, 1, (f, t) -> inner.add((Thread.currentThread() == outer) + " " + f + " " + t));
            }
        });
        assertEquals(List.of("true 0 100", "true 0 100", "true 0 100"), inner);
    }

    @Test
    void theThreadCountCanBeSetButNotBelowOne() {
        Parallel.setThreads(2);
        assertEquals(2, Parallel.threads());
        assertEquals(2, chunks(100, 1).size());
        Parallel.setThreads(2);
        assertEquals(2, Parallel.threads());
        Parallel.setThreads(1);
        assertEquals(1, Parallel.threads(), "one thread is allowed");
        assertEquals(1, chunks(100, 1).size());
        var e = assertThrows(IllegalArgumentException.class, () -> Parallel.setThreads(0));
        assertEquals("threads must be >= 1, got 0", e.getMessage());
    }

    @Test
    void workersAreNamedDaemonThreads() {
        List<Thread> workers = Collections.synchronizedList(new ArrayList<>());
        Parallel.forRange(4, 1, (from, to) -> workers.add(Thread.currentThread()));
        Thread caller = Thread.currentThread();
        for (Thread t : workers) {
            if (t != caller) {
                assertTrue(t.isDaemon(), t.getName());
                assertTrue(t.getName().startsWith("tessera-cpu-"), t.getName());
            }
        }
        assertTrue(workers.stream().anyMatch(t -> t != caller), "some chunk ran on a worker");
    }
}
