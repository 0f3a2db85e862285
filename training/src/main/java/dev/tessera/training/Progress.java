package dev.tessera.training;

import java.io.PrintStream;
import java.util.ArrayDeque;
import java.util.Locale;

/**
 * The training progress bar on stderr: step, epoch, loss, lr, tokens/s and ETA. Speed and ETA
 * come from the last {@link #WINDOW} steps, so the JIT's warm-up in the first steps does not
 * drag them down for the rest of the run. On a terminal it redraws one line; otherwise (logs,
 * CI) it prints a line about every 5% of the run.
 */
final class Progress {
    static final int WINDOW = 10;

    private final long total;
    private final boolean enabled;
    private final boolean terminal = System.console() != null;
    private final PrintStream err = System.err;
    /** (nanoTime at the end of a step, tokens of that step) of the recent steps, the oldest first; starts with the run's start. */
    private final ArrayDeque<long[]> recent = new ArrayDeque<>();

    Progress(long total, boolean enabled) {
        this.total = total;
        this.enabled = enabled;
        recent.add(new long[] {System.nanoTime(), 0});
    }

    /** After each optimizer step; {@code stepTokens} is the tokens (padding included) the step processed. */
    void update(long step, double epoch, double loss, double lr, long stepTokens) {
        update(step, epoch, loss, lr, stepTokens, System.nanoTime());
    }

    void update(long step, double epoch, double loss, double lr, long stepTokens, long now) {
        recent.add(new long[] {now, stepTokens});
        if (recent.size() > WINDOW + 1) {
            recent.removeFirst();
        }
        if (!enabled) {
            return;
        }
        long every = Math.max(1, total / 20);
        if (!terminal && step % every != 0 && step != total) {
            return;
        }
        err.print(terminal ? "\r" + line(step, epoch, loss, lr) : line(step, epoch, loss, lr) + System.lineSeparator());
        err.flush();
    }

    /** Tokens per second over the recent steps. */
    double tokensPerSecond() {
        return recentTokens() / Math.max(recentSeconds(), 1e-9);
    }

    /** Seconds left at the recent steps' pace. */
    long etaSeconds(long step) {
        int steps = recent.size() - 1;
        return steps == 0 ? 0 : Math.round(recentSeconds() / steps * (total - step));
    }

    private double recentSeconds() {
        return (recent.getLast()[0] - recent.getFirst()[0]) / 1e9;
    }

    private long recentTokens() {
        long sum = 0;
        boolean first = true;
        for (long[] r : recent) {
            if (!first) {
                sum += r[1];
            }
            first = false;
        }
        return sum;
    }

    String line(long step, double epoch, double loss, double lr) {
        long eta = etaSeconds(step);
        int width = 24;
        int filled = (int) (width * step / Math.max(1, total));
        String bar = "#".repeat(filled) + "-".repeat(width - filled);
        return String.format(Locale.ROOT, "[%s] step %d/%d | epoch %.2f | loss %s | lr %.2e | %.0f tok/s | ETA %02d:%02d:%02d",
                bar, step, total, epoch, Double.isFinite(loss) ? String.format(Locale.ROOT, "%.4f", loss) : "-", lr,
                tokensPerSecond(), eta / 3600, (eta / 60) % 60, eta % 60);
    }

    void finish() {
        if (enabled && terminal) {
            err.println();
        }
    }
}
