package dev.tessera.training.data;

/**
 * Why one row cannot be used; the loader adds the file and line and either throws a
 * {@link DataException} or skips the row. No stack trace: it is an expected outcome.
 */
final class RowProblem extends RuntimeException {
    RowProblem(String problem) {
        super(problem, null, false, false);
    }
}
