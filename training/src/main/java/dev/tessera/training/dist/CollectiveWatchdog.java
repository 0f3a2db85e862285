package dev.tessera.training.dist;

import java.time.Duration;

/**
 * Stops this process when a collective operation has waited longer than a timeout, so a rank
 * whose partner hangs (stopped, swapping, cut off from the network) ends with one line instead of
 * waiting forever; mpirun then sees the non-zero exit and stops the other ranks. A rank that dies
 * is handled sooner by mpirun itself, which kills the job as soon as one process exits abnormally.
 * PyTorch's process groups have the same safeguard (a 10-minute default timeout).
 */
final class CollectiveWatchdog implements AutoCloseable {
    private final long timeoutNanos;
    private final String who;
    private final Thread thread;
    private volatile String operation; // the collective in progress, null when none
    private volatile long startedAt;
    private volatile boolean closed;

    CollectiveWatchdog(Duration timeout, String who) {
        this.timeoutNanos = timeout.toNanos();
        this.who = who;
        this.thread = Thread.ofPlatform().daemon().name("tessera-collective-watchdog").unstarted(this::watch);
        thread.start();
    }

    /** Marks the start of a collective call on this rank. */
    void begin(String op) {
        startedAt = System.nanoTime();
        operation = op;
    }

    /** Marks its end. */
    void end() {
        operation = null;
    }

    private void watch() {
        long tick = Math.max(10_000_000L, Math.min(1_000_000_000L, timeoutNanos / 10));
        while (!closed) {
            try {
                Thread.sleep(Duration.ofNanos(tick));
            } catch (InterruptedException e) {
                return;
            }
            String op = operation;
            if (op != null && System.nanoTime() - startedAt > timeoutNanos) {
                System.err.println("tessera: " + who + ": " + op + " waited more than " + Duration.ofNanos(timeoutNanos).toSeconds()
                        + " s for the other ranks (one stopped or hangs); stopping (TESSERA_COLLECTIVE_TIMEOUT sets the limit)");
                System.err.flush();
                Runtime.getRuntime().halt(1);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
