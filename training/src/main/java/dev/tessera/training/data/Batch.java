package dev.tessera.training.data;

import java.util.Arrays;
import java.util.List;

/**
 * A batch of examples padded on the right to the longest one, as plain int arrays of shape
 * {@code [B][T]}; the trainer turns them into tensors.
 *
 * <ul>
 *   <li>{@code inputIds}: token ids, the pad id on padding.
 *   <li>{@code labels}: targets, -100 on padding and on masked positions; the model shifts
 *       (logits at t are scored against {@code labels[t + 1]}).
 *   <li>{@code attentionMask}: 1 on tokens, 0 on padding.
 *   <li>{@code positionIds}: 0, 1, 2, ... restarting at 0 for every example packed into a
 *       row; 0 on padding.
 *   <li>{@code sequenceIds}: which example of the row a token belongs to (0, 1, ...), -1 on
 *       padding.
 * </ul>
 *
 * <p>How the model uses them: RoPE/learned positions take {@code positionIds}; attention is
 * causal and block-diagonal, query {@code i} attending key {@code j} of the same row only
 * when {@code j <= i && sequenceIds[i] == sequenceIds[j] && sequenceIds[j] >= 0}. Unpacked
 * rows have one sequence, so this is the usual causal mask with padding masked out, and
 * {@code positionIds} is the usual {@code arange}.
 *
 * <pre>{@code
 * Batch batch = Batch.collate(examples.subList(0, 8), dataset.padId());
 * int[][] ids = batch.inputIds();      // [8][T], T = longest of the 8
 * }</pre>
 */
public record Batch(int[][] inputIds, int[][] labels, int[][] attentionMask, int[][] positionIds, int[][] sequenceIds) {

    /** Pads {@code examples} to the longest of them with {@code padId}. */
    public static Batch collate(List<Example> examples, int padId) {
        int rows = examples.size();
        int length = examples.stream().mapToInt(Example::length).max().orElse(0);
        int[][] ids = new int[rows][length];
        int[][] labels = new int[rows][length];
        int[][] mask = new int[rows][length];
        int[][] positions = new int[rows][length];
        int[][] sequences = new int[rows][length];
        for (int b = 0; b < rows; b++) {
            Example e = examples.get(b);
            int n = e.length();
            System.arraycopy(e.inputIds(), 0, ids[b], 0, n);
            System.arraycopy(e.labels(), 0, labels[b], 0, n);
            Arrays.fill(ids[b], n, length, padId);
            Arrays.fill(labels[b], n, length, Example.IGNORE_INDEX);
            Arrays.fill(mask[b], 0, n, 1);
            Arrays.fill(sequences[b], n, length, -1);
            int t = 0;
            int[] segments = e.segmentLengths();
            for (int s = 0; s < segments.length; s++) {
                for (int p = 0; p < segments[s]; p++, t++) {
                    positions[b][t] = p;
                    sequences[b][t] = s;
                }
            }
        }
        return new Batch(ids, labels, mask, positions, sequences);
    }

    /** B, the number of rows. */
    public int size() {
        return inputIds.length;
    }

    /** T, the padded length. */
    public int length() {
        return inputIds.length == 0 ? 0 : inputIds[0].length;
    }
}
