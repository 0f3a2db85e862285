package dev.tessera.training.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.nn.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * Turns a conversation into the one string a chat model was trained on, exactly as
 * transformers' {@code tokenizer.apply_chat_template(messages, tokenize=False)} does.
 *
 * <p>A template is either one of the well-known ones by name ({@link #names()}), whose Jinja
 * source is the one those models ship, or the model's own {@code chat_template} from its
 * {@code tokenizer_config.json} (or {@code chat_template.jinja} beside it). Templates see
 * {@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token} and
 * can call {@code raise_exception(message)}.
 *
 * <pre>{@code
 * ChatTemplate chatml = ChatTemplate.named("chatml", tokenizer);
 * String text = chatml.render(List.of(Message.user("Hi"), Message.assistant("Hello!")), false);
 * // "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n"
 *
 * ChatTemplate own = ChatTemplate.fromTokenizerConfig(Path.of("models/smollm/tokenizer_config.json"));
 * }</pre>
 */
public final class ChatTemplate {

    // The Jinja sources below are the ones the named models ship in tokenizer_config.json,
    // character for character, so rendering them reproduces Hugging Face's strings.

    /** ChatML as in TRL's {@code setup_chat_format} and the transformers docs. */
    private static final String CHATML = "{% for message in messages %}"
            + "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
            + "{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /** meta-llama/Llama-2-7b-chat-hf. */
    private static final String LLAMA_2 = "{% if messages[0]['role'] == 'system' %}"
            + "{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}"
            + "{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
            + "{% for message in loop_messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
            + "{% endif %}"
            + "{% if loop.index0 == 0 and system_message != false %}"
            + "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
            + "{% else %}{% set content = message['content'] %}{% endif %}"
            + "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
            + "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
            + "{% endfor %}";

    /** meta-llama/Meta-Llama-3-8B-Instruct. */
    private static final String LLAMA_3 = "{% set loop_messages = messages %}"
            + "{% for message in loop_messages %}"
            + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
            + "+ message['content'] | trim + '<|eot_id|>' %}"
            + "{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
            + "{{ content }}"
            + "{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

    /** HuggingFaceH4/zephyr-7b-beta (its newlines between tags are part of the source). */
    private static final String ZEPHYR = "{% for message in messages %}\n"
            + "{% if message['role'] == 'user' %}\n"
            + "{{ '<|user|>\n' + message['content'] + eos_token }}\n"
            + "{% elif message['role'] == 'system' %}\n"
            + "{{ '<|system|>\n' + message['content'] + eos_token }}\n"
            + "{% elif message['role'] == 'assistant' %}\n"
            + "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
            + "{% endif %}\n"
            + "{% if loop.last and add_generation_prompt %}\n"
            + "{{ '<|assistant|>' }}\n"
            + "{% endif %}\n"
            + "{% endfor %}";

    /**
     * Alpaca for conversations, as in the widely used chat_templates collection's
     * {@code alpaca.jinja}: the system prompt, then {@code ### Instruction:} /
     * {@code ### Response:} blocks, each reply ending with EOS and a blank line.
     */
    private static final String ALPACA = "{% if messages[0]['role'] == 'system' %}"
            + "{% set system_message = messages[0]['content'] | trim + '\\n\\n' %}"
            + "{% set loop_messages = messages[1:] %}"
            + "{% else %}{% set system_message = '' %}{% set loop_messages = messages %}{% endif %}"
            + "{{ bos_token + system_message }}"
            + "{% for message in loop_messages %}"
            + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
            + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
            + "{% endif %}"
            + "{% if message['role'] == 'user' %}{{ '### Instruction:\\n' + message['content'] | trim + '\\n\\n' }}"
            + "{% elif message['role'] == 'assistant' %}"
            + "{{ '### Response:\\n' + message['content'] | trim + eos_token + '\\n\\n' }}{% endif %}"
            + "{% endfor %}"
            + "{% if add_generation_prompt %}{{ '### Response:\\n' }}{% endif %}";

    private static final Map<String, String> NAMED = namedSources();

    private final String name;
    private final JinjaTemplate template;
    private final String bosToken;
    private final String eosToken;

    private ChatTemplate(String name, String source, String bosToken, String eosToken) {
        this.name = name;
        this.template = JinjaTemplate.parse(Objects.requireNonNull(source, "source"));
        this.bosToken = bosToken == null ? "" : bosToken;
        this.eosToken = eosToken == null ? "" : eosToken;
    }

    /** The names {@link #named} knows: chatml, llama-2, llama-3, zephyr, alpaca. */
    public static List<String> names() {
        return List.copyOf(NAMED.keySet());
    }

    /** A well-known template, with BOS/EOS written as the tokenizer's own BOS/EOS tokens. */
    public static ChatTemplate named(String name, Tokenizer tokenizer) {
        return named(name, tokenText(tokenizer, tokenizer.bosId()), tokenText(tokenizer, tokenizer.eosId()));
    }

    /** A well-known template with the given BOS/EOS strings (empty or null when the model has none). */
    public static ChatTemplate named(String name, String bosToken, String eosToken) {
        String source = NAMED.get(name.strip().toLowerCase(java.util.Locale.ROOT));
        if (source == null) {
            throw new IllegalArgumentException(
                    "unknown chat template \"" + name + "\"; expected one of " + String.join("|", NAMED.keySet()));
        }
        return new ChatTemplate(name, source, bosToken, eosToken);
    }

    /**
     * Any Jinja chat template, e.g. one read from a model's files.
     *
     * @throws IllegalArgumentException when {@code source} is not a valid template
     */
    public static ChatTemplate ofJinja(String source, String bosToken, String eosToken) {
        return new ChatTemplate("jinja", source, bosToken, eosToken);
    }

    /**
     * The model's own template from {@code tokenizer_config.json}: its {@code chat_template}
     * (a string, or a list of {@code {name, template}} of which {@code default} is taken), or
     * else the {@code chat_template.jinja} file beside it; {@code bos_token} and
     * {@code eos_token} from the same config.
     *
     * @throws DataException naming the file when it cannot be read or has no template
     */
    public static ChatTemplate fromTokenizerConfig(Path tokenizerConfig) {
        String file = tokenizerConfig.toString();
        JsonNode config;
        try {
            config = new ObjectMapper().readTree(tokenizerConfig.toFile());
        } catch (IOException e) {
            throw new DataException(file, 0, "cannot read the tokenizer config: " + RowReader.describe(e));
        }
        if (config == null || !config.isObject()) {
            throw new DataException(file, 0, "expected a JSON object");
        }
        String source = templateSource(file, config.get("chat_template"));
        if (source == null) {
            Path beside = tokenizerConfig.resolveSibling("chat_template.jinja");
            if (!Files.isRegularFile(beside)) {
                throw new DataException(file, 0,
                        "no \"chat_template\" here and no chat_template.jinja beside it; pass a named template");
            }
            try {
                source = Files.readString(beside, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new DataException(beside.toString(), 0, "cannot read the chat template: " + e.getMessage());
            }
        }
        try {
            return new ChatTemplate(
                    file, source, specialToken(config.get("bos_token")), specialToken(config.get("eos_token")));
        } catch (IllegalArgumentException e) {
            throw new DataException(file, 0, e.getMessage());
        }
    }

    /** The template's name, or the file it came from. */
    public String name() {
        return name;
    }

    /**
     * Renders {@code messages}; with {@code addGenerationPrompt} the header of the next
     * assistant turn is appended, as when prompting the model for a reply.
     *
     * @throws IllegalArgumentException when the template calls {@code raise_exception}
     *     (e.g. roles that do not alternate) or cannot be rendered
     */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> turns = new ArrayList<>(messages.size());
        for (Message m : messages) {
            Map<String, Object> turn = new LinkedHashMap<>();
            turn.put("role", m.role());
            turn.put("content", m.content());
            turns.add(turn);
        }
        Map<String, Object> bindings = new HashMap<>();
        bindings.put("messages", turns);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        bindings.put("bos_token", bosToken);
        bindings.put("eos_token", eosToken);
        return template.render(bindings);
    }

    @Override
    public String toString() {
        return "ChatTemplate[" + name + "]";
    }

    private static Map<String, String> namedSources() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("chatml", CHATML);
        m.put("llama-2", LLAMA_2);
        m.put("llama-3", LLAMA_3);
        m.put("zephyr", ZEPHYR);
        m.put("alpaca", ALPACA);
        return m;
    }

    private static String tokenText(Tokenizer tokenizer, OptionalInt id) {
        return id.isPresent() ? tokenizer.decode(new int[] {id.getAsInt()}) : "";
    }

    private static String templateSource(String file, JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.asText();
        }
        if (node.isArray()) {
            for (JsonNode entry : node) {
                if (entry.path("name").asText().equals("default") && entry.path("template").isTextual()) {
                    return entry.get("template").asText();
                }
            }
            throw new DataException(file, 0, "expected \"chat_template\" to list a template named \"default\"");
        }
        throw new DataException(file, 0, "expected \"chat_template\" to be a string");
    }

    /** A special token as transformers saves it: a string, or an AddedToken object with "content". */
    private static String specialToken(JsonNode node) {
        if (node == null || node.isNull()) {
            return "";
        }
        if (node.isObject()) {
            return node.path("content").asText("");
        }
        return node.asText("");
    }
}
