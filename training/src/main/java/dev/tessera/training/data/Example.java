package dev.tessera.training.data;

import java.util.Arrays;

/**
 * One training row as token ids: what the model reads and what it is scored on.
 *
 * <p>{@code labels[t]} is the target for the prediction made at {@code t - 1} (the model
 * shifts), or -100 where no loss is taken. A packed row holds several examples back to
 * back; {@code segmentLengths} gives their lengths in order (a single example has one).
 *
 * <pre>{@code
 * Example e = dataset.examples().get(0);
 * e.length();            // number of tokens
 * e.segmentLengths();    // [length] unless packed
 * }</pre>
 *
 * @param inputIds token ids, length T
 * @param labels targets, length T, -100 where masked
 * @param segmentLengths lengths of the examples packed into this row, summing to T
 */
public record Example(int[] inputIds, int[] labels, int[] segmentLengths) {
    /** The label of a position that takes no loss, as in PyTorch's cross-entropy. */
    public static final int IGNORE_INDEX = -100;

    public Example {
        if (inputIds.length != labels.length) {
            throw new IllegalArgumentException(
                    "input_ids has " + inputIds.length + " entries but labels has " + labels.length);
        }
        if (Arrays.stream(segmentLengths).sum() != inputIds.length) {
            throw new IllegalArgumentException("segment lengths " + Arrays.toString(segmentLengths)
                    + " do not add up to " + inputIds.length);
        }
    }

    /** One unpacked example. */
    public Example(int[] inputIds, int[] labels) {
        this(inputIds, labels, new int[] {inputIds.length});
    }

    public int length() {
        return inputIds.length;
    }

    /**
     * How many next-token predictions take a loss: the labels after the first that are not
     * -100 (the first token is never predicted).
     */
    public int targetCount() {
        int n = 0;
        for (int t = 1; t < labels.length; t++) {
            if (labels[t] != IGNORE_INDEX) {
                n++;
            }
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Example e
                && Arrays.equals(inputIds, e.inputIds)
                && Arrays.equals(labels, e.labels)
                && Arrays.equals(segmentLengths, e.segmentLengths);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(inputIds) + Arrays.hashCode(labels)) + Arrays.hashCode(segmentLengths);
    }

    @Override
    public String toString() {
        return "Example[inputIds=" + Arrays.toString(inputIds) + ", labels=" + Arrays.toString(labels)
                + ", segmentLengths=" + Arrays.toString(segmentLengths) + "]";
    }
}
