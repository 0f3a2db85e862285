package dev.tessera.training.data;

import java.util.Objects;

/**
 * One turn of a conversation, as in Hugging Face's {@code messages} lists.
 *
 * <pre>{@code
 * List<Message> chat = List.of(Message.user("Hi"), Message.assistant("Hello!"));
 * }</pre>
 *
 * @param role {@code system}, {@code user}, {@code assistant} or {@code tool}
 * @param content the text of the turn
 */
public record Message(String role, String content) {
    public Message {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    public static Message system(String content) {
        return new Message("system", content);
    }

    public static Message user(String content) {
        return new Message("user", content);
    }

    public static Message assistant(String content) {
        return new Message("assistant", content);
    }

    /** Whether the model is trained on this turn when training on completions only. */
    public boolean isAssistant() {
        return role.equals("assistant");
    }
}
