package dev.tessera.training.optim;

/** The learning-rate schedules by their command-line names (Hugging Face's {@code lr_scheduler_type}). */
public enum SchedulerType {
    CONSTANT("constant"),
    LINEAR("linear"),
    COSINE("cosine");

    private final String cliName;

    SchedulerType(String cliName) {
        this.cliName = cliName;
    }

    /** The schedule over {@code total} steps, the first {@code warmup} of them warming up linearly. */
    public LrSchedule schedule(long warmup, long total) {
        return switch (this) {
            case CONSTANT -> LrSchedule.constant(warmup);
            case LINEAR -> LrSchedule.linear(warmup, total);
            case COSINE -> LrSchedule.cosine(warmup, total);
        };
    }

    @Override
    public String toString() {
        return cliName;
    }
}
