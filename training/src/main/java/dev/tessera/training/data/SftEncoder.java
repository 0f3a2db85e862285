package dev.tessera.training.data;

import dev.tessera.nn.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * Rows to token ids and labels, the way TRL's SFTTrainer prepares them.
 *
 * <ul>
 *   <li>Alpaca: {@code [BOS] prompt response EOS}, the prompt being
 *       {@code ### Instruction:\n{instruction}\n\n[### Input:\n{input}\n\n]### Response:\n}.
 *   <li>Text: {@code [BOS] text EOS}.
 *   <li>Chat (ShareGPT, messages): the chat template's output only; the template decides
 *       on BOS/EOS, as {@code apply_chat_template} does, so nothing is added.
 *   <li>Tokens: as given, ids checked against the vocabulary.
 * </ul>
 * BOS is added when {@code addBos}; EOS whenever the tokenizer has one. With completion-only
 * masking, labels are -100 except on the response (+ EOS) or the assistant turns (each as
 * the template writes it, end-of-turn marker included); otherwise labels equal the ids.
 *
 * <p>Masks are exact because the text is cut at the boundaries first and each piece is
 * tokenized on its own: the boundary is never inside a token. (TRL tokenizes prompt and
 * prompt+completion separately and can be off by one where a merge crosses the boundary.)
 * Chat boundaries come from rendering prefixes of the conversation: the assistant turn
 * {@code i} runs from the end of {@code render(messages[:i], add_generation_prompt=True)} to
 * the end of {@code render(messages[:i+1])}.
 *
 * <p>Finally examples are cut to {@code maxLength} tokens from the right.
 */
final class SftEncoder {
    private static final String INSTRUCTION = "### Instruction:\n";
    private static final String INPUT = "### Input:\n";
    private static final String RESPONSE = "### Response:\n";

    private final Tokenizer tokenizer;
    private final ChatTemplate chatTemplate;
    private final boolean completionOnly;
    private final boolean addBos;
    private final int maxLength;
    private int truncated;

    SftEncoder(Tokenizer tokenizer, ChatTemplate chatTemplate, boolean completionOnly, boolean addBos, int maxLength) {
        this.tokenizer = tokenizer;
        this.chatTemplate = chatTemplate;
        this.completionOnly = completionOnly;
        this.addBos = addBos;
        this.maxLength = maxLength;
    }

    /** The Alpaca prompt, up to and including {@code ### Response:\n}; SPECS.md's layout. */
    static String alpacaPrompt(String instruction, String input) {
        return INSTRUCTION + instruction + "\n\n" + (input.isEmpty() ? "" : INPUT + input + "\n\n") + RESPONSE;
    }

    /** Whether BOS should start Alpaca/text examples when the options leave it open. */
    static boolean addsBosByDefault(Tokenizer tokenizer) {
        OptionalInt bos = tokenizer.bosId();
        return bos.isPresent() && !bos.equals(tokenizer.eosId());
    }

    Example encode(Row row) {
        Builder b = new Builder();
        switch (row) {
            case Row.Alpaca a -> {
                b.addBos();
                b.add(alpacaPrompt(a.instruction(), a.input()), false);
                b.add(a.output(), true);
                b.addEos();
            }
            case Row.Text t -> {
                b.addBos();
                b.add(t.text(), true);
                b.addEos();
            }
            case Row.Chat c -> {
                for (Piece piece : chatPieces(c.messages())) {
                    b.add(piece.text(), piece.trained());
                }
            }
            case Row.Tokens t -> {
                return truncate(new Example(checkVocabulary(t.inputIds(), "input_ids"),
                        checkVocabulary(t.labels(), "labels")));
            }
        }
        if (b.size == 0) {
            throw new RowProblem("the row has no tokens");
        }
        return truncate(b.build());
    }

    /** A stretch of rendered text, and whether its tokens are trained on. */
    record Piece(String text, boolean trained) {}

    List<Piece> chatPieces(List<Message> messages) {
        String whole = render(messages, false);
        List<Piece> pieces = new ArrayList<>();
        int done = 0;
        for (int i = 0; i < messages.size(); i++) {
            if (!messages.get(i).isAssistant()) {
                continue;
            }
            List<Message> before = messages.subList(0, i);
            String prompt = render(before, true);
            if (!whole.startsWith(prompt)) {
                prompt = render(before, false);
            }
            String through = render(messages.subList(0, i + 1), false);
            if (!whole.startsWith(prompt) || !whole.startsWith(through) || through.length() < prompt.length()) {
                throw new RowProblem("the chat template does not render message " + i
                        + " as a continuation of the ones before it, so its tokens cannot be told apart");
            }
            int start = Math.max(done, prompt.length());
            pieces.add(new Piece(whole.substring(done, start), false));
            pieces.add(new Piece(whole.substring(start, through.length()), true));
            done = through.length();
        }
        pieces.add(new Piece(whole.substring(done), false));
        pieces.removeIf(p -> p.text().isEmpty());
        return pieces;
    }

    private String render(List<Message> messages, boolean addGenerationPrompt) {
        try {
            return chatTemplate.render(messages, addGenerationPrompt);
        } catch (IllegalArgumentException e) {
            throw new RowProblem(e.getMessage());
        }
    }

    private int[] checkVocabulary(int[] ids, String key) {
        int vocab = tokenizer.vocabSize();
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] >= vocab) {
                throw new RowProblem("expected \"" + key + "[" + i + "]\" to be below the vocabulary size " + vocab
                        + ", found " + ids[i]);
            }
        }
        return ids;
    }

    /** How many examples {@link #truncate} has cut so far. */
    int truncatedCount() {
        return truncated;
    }

    private Example truncate(Example e) {
        if (e.length() <= maxLength) {
            return e;
        }
        truncated++;
        return new Example(Arrays.copyOf(e.inputIds(), maxLength), Arrays.copyOf(e.labels(), maxLength));
    }

    /** Accumulates ids and labels piece by piece. */
    private final class Builder {
        private int[] ids = new int[64];
        private int[] labels = new int[64];
        private int size;

        void add(String text, boolean trained) {
            if (!text.isEmpty()) {
                for (int id : tokenizer.encode(text)) {
                    append(id, trained);
                }
            }
        }

        /** BOS belongs to the prompt: masked when training on completions only. */
        void addBos() {
            if (addBos) {
                tokenizer.bosId().ifPresent(id -> append(id, false));
            }
        }

        /** EOS ends the response and is trained on: the model learns to stop. */
        void addEos() {
            tokenizer.eosId().ifPresent(id -> append(id, true));
        }

        private void append(int id, boolean trained) {
            if (size == ids.length) {
                ids = Arrays.copyOf(ids, size * 2);
                labels = Arrays.copyOf(labels, size * 2);
            }
            ids[size] = id;
            labels[size] = trained || !completionOnly ? id : Example.IGNORE_INDEX;
            size++;
        }

        Example build() {
            return new Example(Arrays.copyOf(ids, size), Arrays.copyOf(labels, size));
        }
    }
}
