package dev.tessera.training.data;

import dev.tessera.nn.tokenizer.Tokenizer;
import java.util.List;

/**
 * A prompt wrapped the way training wrapped its rows, so a trained model is asked in the form it
 * learned: {@code alpaca} gives {@code [BOS] ### Instruction:\n{prompt}\n\n### Response:\n}
 * (BOS as for Alpaca training rows), {@code chat} the chat template's user turn followed by the
 * generation prompt, {@code none} the text as it is.
 *
 * <pre>{@code
 * int[] ids = GenerationPrompt.encode("alpaca", "Name a colour.", tokenizer, null);
 * }</pre>
 */
public final class GenerationPrompt {
    public static final List<String> TEMPLATES = List.of("none", "alpaca", "chat");

    private GenerationPrompt() {}

    /** An Alpaca prompt with an input, up to and including {@code ### Response:\n}, BOS as for training rows. */
    public static int[] alpaca(String instruction, String input, Tokenizer tokenizer) {
        int[] text = tokenizer.encode(SftEncoder.alpacaPrompt(instruction, input));
        if (!SftEncoder.addsBosByDefault(tokenizer)) {
            return text;
        }
        int[] ids = new int[text.length + 1];
        ids[0] = tokenizer.bosId().getAsInt();
        System.arraycopy(text, 0, ids, 1, text.length);
        return ids;
    }

    /** The prompt's ids under {@code template}; {@code chat} uses {@code chatTemplate}, or ChatML when null. */
    public static int[] encode(String template, String prompt, Tokenizer tokenizer, ChatTemplate chatTemplate) {
        return switch (template) {
            case "none" -> tokenizer.encode(prompt);
            case "alpaca" -> alpaca(prompt, "", tokenizer);
            case "chat" -> {
                ChatTemplate t = chatTemplate != null ? chatTemplate : ChatTemplate.named("chatml", tokenizer);
                yield tokenizer.encode(t.render(List.of(Message.user(prompt)), true));
            }
            default -> throw new IllegalArgumentException("template: expected none, alpaca or chat, got '" + template + "'");
        };
    }
}
