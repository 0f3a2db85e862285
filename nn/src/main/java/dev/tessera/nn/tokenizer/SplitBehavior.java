package dev.tessera.nn.tokenizer;

/**
 * What a split does with the matches of its pattern, as HF's {@code SplitDelimiterBehavior}:
 * {@code "Hello, world"} split on {@code ","} gives Removed: [Hello, " world"], Isolated:
 * [Hello, ",", " world"], MergedWithPrevious: ["Hello,", " world"], MergedWithNext:
 * [Hello, ", world"]; Contiguous joins runs of adjacent matches into one piece.
 */
enum SplitBehavior {
    REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS;

    /** The name used in tokenizer.json ("Isolated", "MergedWithNext", ...), or null if unknown. */
    static SplitBehavior fromJson(String name) {
        return switch (name) {
            case "Removed" -> REMOVED;
            case "Isolated" -> ISOLATED;
            case "MergedWithPrevious" -> MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> MERGED_WITH_NEXT;
            case "Contiguous" -> CONTIGUOUS;
            default -> null;
        };
    }

    /**
     * Splits {@code text} on {@code pattern} and hands each non-empty piece to {@code sink};
     * {@code invert} swaps matches and gaps (HF's {@code Invert}).
     */
    void split(String text, boolean atStart, SplitPattern pattern, boolean invert, PreTokenizer.Sink sink) {
        IntList found = new IntList(16);
        pattern.findMatches(text, found);
        int n = found.size() / 3;
        // Pieces as (start, end, removed) triplets, built as HF folds its match list.
        IntList pieces = new IntList(found.size());
        boolean previousMatch = false;
        if (this == MERGED_WITH_NEXT) {
            for (int k = n - 1; k >= 0; k--) {
                int start = found.get(3 * k);
                int end = found.get(3 * k + 1);
                boolean match = (found.get(3 * k + 2) == 1) != invert;
                if (match && !previousMatch && pieces.size() > 0) {
                    pieces.set(pieces.size() - 3, start);
                } else {
                    add(pieces, start, end, false);
                }
                previousMatch = match;
            }
            for (int k = pieces.size() / 3 - 1; k >= 0; k--) {
                emit(text, atStart, pieces.get(3 * k), pieces.get(3 * k + 1), sink);
            }
            return;
        }
        for (int k = 0; k < n; k++) {
            int start = found.get(3 * k);
            int end = found.get(3 * k + 1);
            boolean match = (found.get(3 * k + 2) == 1) != invert;
            switch (this) {
                case REMOVED -> add(pieces, start, end, match);
                case ISOLATED -> add(pieces, start, end, false);
                case CONTIGUOUS -> {
                    if (match == previousMatch && pieces.size() > 0) {
                        pieces.set(pieces.size() - 2, end);
                    } else {
                        add(pieces, start, end, false);
                    }
                }
                case MERGED_WITH_PREVIOUS -> {
                    if (match && !previousMatch && pieces.size() > 0) {
                        pieces.set(pieces.size() - 2, end);
                    } else {
                        add(pieces, start, end, false);
                    }
                }
                case MERGED_WITH_NEXT -> throw new AssertionError("handled above");
            }
            previousMatch = match;
        }
        for (int k = 0; k < pieces.size() / 3; k++) {
            if (pieces.get(3 * k + 2) == 0) {
                emit(text, atStart, pieces.get(3 * k), pieces.get(3 * k + 1), sink);
            }
        }
    }

    private static void add(IntList pieces, int start, int end, boolean removed) {
        pieces.add(start);
        pieces.add(end);
        pieces.add(removed ? 1 : 0);
    }

    private static void emit(String text, boolean atStart, int start, int end, PreTokenizer.Sink sink) {
        if (start < end) {
            sink.accept(text.substring(start, end), atStart && start == 0);
        }
    }
}
