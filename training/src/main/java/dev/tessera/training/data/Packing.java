package dev.tessera.training.data;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Packs short examples into rows of at most {@code maxLength} tokens, whole examples only
 * (none is split), so that fewer positions are padding.
 *
 * <p>Best fit, in file order: each example goes into the open row with the least room that
 * still fits it, or starts a new row. Within a row, examples keep their file order.
 *
 * <p>In a packed row the first label of every example is -100, so no loss is taken for
 * predicting one example's first token from the end of the previous one, as Hugging
 * Face's {@code DataCollatorWithFlattening} does. The model must also keep examples from
 * attending to each other: see {@link Batch} for position and sequence ids.
 */
final class Packing {
    private Packing() {}

    static List<Example> pack(List<Example> examples, int maxLength) {
        List<List<Example>> rows = new ArrayList<>();
        TreeMap<Integer, ArrayDeque<Integer>> rowsByRoom = new TreeMap<>();
        for (Example e : examples) {
            int n = e.length();
            if (n > maxLength) {
                throw new IllegalArgumentException("an example of " + n + " tokens cannot be packed into " + maxLength);
            }
            Map.Entry<Integer, ArrayDeque<Integer>> fit = rowsByRoom.ceilingEntry(n);
            int row;
            int room;
            if (fit == null) {
                row = rows.size();
                rows.add(new ArrayList<>());
                room = maxLength;
            } else {
                room = fit.getKey();
                row = fit.getValue().pollFirst();
                if (fit.getValue().isEmpty()) {
                    rowsByRoom.remove(room);
                }
            }
            rows.get(row).add(e);
            room -= n;
            if (room > 0) {
                rowsByRoom.computeIfAbsent(room, r -> new ArrayDeque<>()).addLast(row);
            }
        }
        List<Example> packed = new ArrayList<>(rows.size());
        for (List<Example> row : rows) {
            packed.add(concatenate(row));
        }
        return packed;
    }

    private static Example concatenate(List<Example> parts) {
        int total = parts.stream().mapToInt(Example::length).sum();
        int[] ids = new int[total];
        int[] labels = new int[total];
        List<Integer> lengths = new ArrayList<>();
        int at = 0;
        for (Example part : parts) {
            System.arraycopy(part.inputIds(), 0, ids, at, part.length());
            System.arraycopy(part.labels(), 0, labels, at, part.length());
            for (int segment : part.segmentLengths()) {
                if (segment > 0) {
                    labels[at] = Example.IGNORE_INDEX;
                }
                lengths.add(segment);
                at += segment;
            }
        }
        return new Example(ids, labels, lengths.stream().mapToInt(Integer::intValue).toArray());
    }
}
