package dev.tessera.training.data;

/**
 * A data file that cannot be used as given, with a one-line message naming the file, the
 * line when there is one, and what was expected, e.g.
 * {@code data.jsonl:17: expected "output" to be a string}.
 *
 * <p>The command line prints {@link #getMessage()} as is and exits non-zero.
 *
 * <pre>{@code
 * try {
 *     SftDataset.load(Path.of("data.jsonl"), tokenizer, DataOptions.defaults());
 * } catch (DataException e) {
 *     System.err.println(e.getMessage());   // data.jsonl:17: expected "output" to be a string
 * }
 * }</pre>
 */
public final class DataException extends RuntimeException {
    private final String file;
    private final long line;

    /** A problem at {@code line} (1-based) of {@code file}; a line of 0 or less means the whole file. */
    public DataException(String file, long line, String problem) {
        super(format(file, line, problem));
        this.file = file;
        this.line = line;
    }

    /** The file as it was named to the loader. */
    public String file() {
        return file;
    }

    /** The 1-based line, or 0 when the problem is with the whole file. */
    public long line() {
        return Math.max(line, 0);
    }

    private static String format(String file, long line, String problem) {
        // One line whatever the problem text holds: parser messages may quote raw input.
        String oneLine = problem.replaceAll("[\\p{Cc}\\p{Zl}\\p{Zp}]+", " ");
        return line > 0 ? file + ":" + line + ": " + oneLine : file + ": " + oneLine;
    }
}
