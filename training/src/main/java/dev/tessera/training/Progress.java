package dev.tessera.training;

import java.io.PrintStream;

/**
 * The training progress bar on stderr: step, epoch, loss, lr, tokens/s and ETA. On a terminal it
 * redraws one line; otherwise (logs, CI) it prints a line about every 5% of the run.
 */
final class Progress {
    private final long total;
    private final boolean enabled;
    private final boolean terminal = System.console() != null;
    private final PrintStream err = System.err;
    private final long start = System.nanoTime();
    private long firstStep = -1;
    private long tokens;

    Progress(long total, boolean enabled) {
        this.total = total;
        this.enabled = enabled;
    }

    /** After each optimizer step; {@code stepTokens} is the tokens (padding included) the step processed. */
    void update(long step, double epoch, double loss, double lr, long stepTokens) {
        tokens += stepTokens;
        if (!enabled) {
            return;
        }
        if (firstStep < 0) {
            firstStep = step - 1; // a resumed run starts counting at its first step
        }
        long every = Math.max(1, total / 20);
        if (!terminal && step % every != 0 && step != total) {
            return;
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        double perStep = elapsed / Math.max(1, step - firstStep);
        long eta = (long) (perStep * (total - step));
        int width = 24;
        int filled = (int) (width * step / Math.max(1, total));
        String bar = "#".repeat(filled) + "-".repeat(width - filled);
        String line = String.format("[%s] step %d/%d | epoch %.2f | loss %.4f | lr %.2e | %.0f tok/s | ETA %02d:%02d:%02d",
                bar, step, total, epoch, loss, lr, tokens / Math.max(elapsed, 1e-9), eta / 3600, (eta / 60) % 60, eta % 60);
        err.print(terminal ? "\r" + line : line + System.lineSeparator());
        err.flush();
    }

    void finish() {
        if (enabled && terminal) {
            err.println();
        }
    }
}
