package dev.tessera.training;

/** Hooks into a {@link Trainer} run (both methods optional). */
public interface TrainerCallback {
    /** After each optimizer step. */
    default void onStep(long step, double loss) {}

    /** After each metrics line is written to metrics.jsonl. */
    default void onLog(MetricsLine.Step metrics) {}
}
