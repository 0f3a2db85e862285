package dev.tessera.training.optim;

/**
 * The optimizers the Trainer builds, by their command-line names (Hugging Face's {@code optim}):
 * {@code adamw}, {@code sgd}, {@code adamw8bit} (AdamW with 8-bit blockwise state),
 * {@code paged-adamw} and {@code paged-adamw8bit} (their state paged between a fast and a slow tier).
 */
public enum OptimizerType {
    ADAMW("adamw"),
    SGD("sgd"),
    ADAMW_8BIT("adamw8bit"),
    PAGED_ADAMW("paged-adamw"),
    PAGED_ADAMW_8BIT("paged-adamw8bit");

    private final String cliName;

    OptimizerType(String cliName) {
        this.cliName = cliName;
    }

    /** Whether this optimizer keeps its state in a {@link PagedStateStore}. */
    public boolean paged() {
        return this == PAGED_ADAMW || this == PAGED_ADAMW_8BIT;
    }

    /** The name on the command line and in checkpoints, e.g. {@code paged-adamw8bit}. */
    @Override
    public String toString() {
        return cliName;
    }
}
