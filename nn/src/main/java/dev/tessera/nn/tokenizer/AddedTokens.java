package dev.tessera.nn.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Tokens matched in the text before BPE (special tokens such as {@code <|endoftext|>} and other
 * added tokens), as HF's {@code AddedVocabulary}: leftmost-longest matching, first over the raw
 * text for tokens with {@code normalized=false}, then over normalized text for the others;
 * {@code lstrip}/{@code rstrip} swallow neighbouring whitespace and {@code single_word} requires
 * word boundaries.
 */
final class AddedTokens {

    /** One added token as tokenizer.json's {@code added_tokens} lists it. */
    record Token(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip,
            boolean normalized, boolean special) {}

    /** Receives the pieces of a split: plain text, or the id of a matched added token. */
    interface Sink {
        void text(String text, boolean atStart);

        void token(int id);
    }

    private final Map<Integer, Token> byId = new HashMap<>();
    private final Map<String, Token> byContent = new HashMap<>();
    private final Trie raw = new Trie();
    private final Trie normalizedTrie = new Trie();

    /** Later tokens with the same content or id replace earlier ones. */
    AddedTokens(List<Token> tokens, Normalizer normalizer) {
        for (Token t : tokens) {
            Token old = byId.put(t.id(), t);
            if (old != null) {
                byContent.remove(old.content());
            }
            Token sameContent = byContent.put(t.content(), t);
            if (sameContent != null && sameContent.id() != t.id()) {
                byId.remove(sameContent.id());
            }
        }
        for (Token t : byId.values()) {
            if (t.content().isEmpty()) {
                continue;
            }
            if (t.normalized()) {
                String content = normalizer == null ? t.content() : normalizer.normalize(t.content());
                if (!content.isEmpty()) {
                    normalizedTrie.add(content, t);
                }
            } else {
                raw.add(t.content(), t);
            }
        }
    }

    List<Token> all() {
        return new ArrayList<>(byId.values());
    }

    Token byId(int id) {
        return byId.get(id);
    }

    Token byContent(String content) {
        return byContent.get(content);
    }

    /** Splits raw text on the tokens matched before normalization. */
    void splitRaw(String text, boolean atStart, Sink sink) {
        split(raw, text, atStart, sink);
    }

    /** Splits normalized text on the tokens matched after normalization. */
    void splitNormalized(String text, boolean atStart, Sink sink) {
        split(normalizedTrie, text, atStart, sink);
    }

    private static void split(Trie trie, String text, boolean atStart, Sink sink) {
        if (trie.isEmpty()) {
            if (!text.isEmpty()) {
                sink.text(text, atStart);
            }
            return;
        }
        int emitted = 0;
        int i = 0;
        while (i < text.length()) {
            Trie.Match match = trie.longestAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            Token t = match.token();
            int start = i;
            int stop = match.end();
            if (t.singleWord() && (wordCharBefore(text, start) || wordCharAt(text, stop))) {
                i = stop;
                continue;
            }
            if (t.lstrip()) {
                while (start > emitted && UnicodeProps.isWhiteSpace(text.codePointBefore(start))) {
                    start -= Character.charCount(text.codePointBefore(start));
                }
            }
            if (t.rstrip()) {
                while (stop < text.length() && UnicodeProps.isWhiteSpace(text.codePointAt(stop))) {
                    stop += Character.charCount(text.codePointAt(stop));
                }
            }
            if (emitted < start) {
                sink.text(text.substring(emitted, start), atStart && emitted == 0);
            }
            sink.token(t.id());
            emitted = stop;
            i = stop;
        }
        if (emitted < text.length()) {
            sink.text(text.substring(emitted), atStart && emitted == 0);
        }
    }

    /** HF's {@code \w$} test on the text before a single_word token. */
    private static boolean wordCharBefore(String text, int at) {
        return at > 0 && UnicodeProps.isWordChar(text.codePointBefore(at));
    }

    /** HF's {@code ^\w} test on the text after a single_word token. */
    private static boolean wordCharAt(String text, int at) {
        return at < text.length() && UnicodeProps.isWordChar(text.codePointAt(at));
    }

    /** A char trie over token contents; the root is an array indexed by first char for speed. */
    private static final class Trie {
        record Match(Token token, int end) {}

        private static final class Node {
            final Map<Character, Node> children = new HashMap<>();
            Token token;
        }

        private final Node[] roots = new Node[Character.MAX_VALUE + 1];
        private boolean empty = true;

        boolean isEmpty() {
            return empty;
        }

        void add(String content, Token token) {
            char first = content.charAt(0);
            if (roots[first] == null) {
                roots[first] = new Node();
            }
            Node node = roots[first];
            for (int k = 1; k < content.length(); k++) {
                node = node.children.computeIfAbsent(content.charAt(k), c -> new Node());
            }
            node.token = token;
            empty = false;
        }

        Match longestAt(String text, int at) {
            Node node = roots[text.charAt(at)];
            Match best = null;
            for (int k = at + 1; node != null; k++) {
                if (node.token != null) {
                    best = new Match(node.token, k);
                }
                if (k == text.length()) {
                    break;
                }
                node = node.children.get(text.charAt(k));
            }
            return best;
        }
    }
}
