package dev.tessera.training.optim;

/**
 * Learning-rate multipliers by optimizer step, as Hugging Face's schedulers
 * ({@code get_constant_schedule_with_warmup}, {@code get_linear_schedule_with_warmup},
 * {@code get_cosine_schedule_with_warmup}): step s (0-based) trains with lr · factor(s), so with
 * warmup the first step's factor is 0.
 */
@FunctionalInterface
public interface LrSchedule {
    double factor(long step);

    static LrSchedule constant(long warmup) {
        return s -> s < warmup ? (double) s / Math.max(1, warmup) : 1.0;
    }

    static LrSchedule linear(long warmup, long total) {
        return s -> s < warmup ? (double) s / Math.max(1, warmup)
                : Math.max(0.0, (double) (total - s) / Math.max(1, total - warmup));
    }

    static LrSchedule cosine(long warmup, long total) {
        return s -> {
            if (s < warmup) {
                return (double) s / Math.max(1, warmup);
            }
            double progress = (double) (s - warmup) / Math.max(1, total - warmup);
            return Math.max(0.0, 0.5 * (1 + Math.cos(Math.PI * progress)));
        };
    }
}
