package dev.tessera.training.data;

import static dev.tessera.training.data.TestData.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every expected string here is what transformers 5.18's {@code render_jinja_template}
 * (jinja2 3.1.6, as {@code apply_chat_template(tokenize=False)}) printed for the same
 * template source, conversation and special tokens.
 */
class ChatTemplateTest {
    /** A system prompt, two exchanges, and stray spaces that some templates strip. */
    private static final List<Message> CONVERSATION = List.of(
            Message.system("You are terse."),
            Message.user("Hi there"),
            Message.assistant("Hello!"),
            Message.user("Bye "),
            Message.assistant(" Goodbye."));

    /** The same conversation cut before the last reply, to prompt for it. */
    private static final List<Message> PROMPT = CONVERSATION.subList(0, 4);

    @TempDir
    Path dir;

    private static ChatTemplate named(String name) {
        return ChatTemplate.named(name, "<s>", "</s>");
    }

    /** The named template renders the whole conversation as {@code conversation} and the prompt for the last reply as {@code prompt}. */
    private static void assertRenders(String name, String conversation, String prompt) {
        assertEquals(conversation, named(name).render(CONVERSATION, false));
        assertEquals(prompt, named(name).render(PROMPT, true));
    }

    @Test
    void chatmlRendersEachTurnBetweenImStartAndImEnd() {
        assertRenders("chatml",
                "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
                        + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye <|im_end|>\n"
                        + "<|im_start|>assistant\n Goodbye.<|im_end|>\n",
                "<|im_start|>system\nYou are terse.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
                        + "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye <|im_end|>\n"
                        + "<|im_start|>assistant\n");
    }

    @Test
    void llama2FoldsTheSystemPromptIntoTheFirstInstruction() {
        assertRenders("llama-2",
                "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi there [/INST] Hello! </s>"
                        + "<s>[INST] Bye [/INST] Goodbye. </s>",
                "<s>[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi there [/INST] Hello! </s><s>[INST] Bye [/INST]");
    }

    @Test
    void llama3WritesHeadersAndTrimsContent() {
        assertRenders("llama-3",
                "<s><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\nGoodbye.<|eot_id|>",
                "<s><|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                        + "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                        + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    }

    @Test
    void zephyrEndsEachTurnWithEosAndANewline() {
        assertRenders("zephyr",
                "<|system|>\nYou are terse.</s>\n<|user|>\nHi there</s>\n<|assistant|>\nHello!</s>\n"
                        + "<|user|>\nBye </s>\n<|assistant|>\n Goodbye.</s>\n",
                "<|system|>\nYou are terse.</s>\n<|user|>\nHi there</s>\n<|assistant|>\nHello!</s>\n"
                        + "<|user|>\nBye </s>\n<|assistant|>\n");
    }

    @Test
    void alpacaWritesInstructionAndResponseBlocks() {
        assertRenders("alpaca",
                "<s>You are terse.\n\n### Instruction:\nHi there\n\n### Response:\nHello!</s>\n\n"
                        + "### Instruction:\nBye\n\n### Response:\nGoodbye.</s>\n\n",
                "<s>You are terse.\n\n### Instruction:\nHi there\n\n### Response:\nHello!</s>\n\n"
                        + "### Instruction:\nBye\n\n### Response:\n");
    }

    @Test
    void namedTemplatesTakeBosAndEosFromTheTokenizer() {
        ChatTemplate zephyr = ChatTemplate.named("zephyr", CharTokenizer.gpt2Like());
        assertEquals("<|user|>\nHi<|endoftext|>\n", zephyr.render(List.of(Message.user("Hi")), false));
    }

    @Test
    void raiseExceptionStopsRenderingWithTheTemplatesMessage() {
        var twoUsers = List.of(Message.user("a"), Message.user("b"));
        var e = assertThrows(IllegalArgumentException.class, () -> named("llama-2").render(twoUsers, false));
        assertEquals("chat template: Conversation roles must alternate user/assistant/user/assistant/...",
                e.getMessage());
    }

    @Test
    void unknownTemplateNamesListTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> named("vicuna"));
        assertEquals("unknown chat template \"vicuna\"; expected one of chatml|llama-2|llama-3|zephyr|alpaca",
                e.getMessage());
    }

    /** A Qwen2.5-style template: whitespace control, dot access, tool turns, undefined fields. */
    private static final String QWEN_LIKE = """
            {%- if messages[0]['role'] == 'system' %}
                {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
            {%- else %}
                {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
            {%- endif %}
            {%- for message in messages %}
                {%- if message.role == "user" or (message.role == "system" and not loop.first) \
            or (message.role == "assistant" and not message.tool_calls) %}
                    {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
                {%- elif message.role == "tool" %}
                    {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
                        {{- '<|im_start|>user' }}
                    {%- endif %}
                    {{- '\\n<tool_response>\\n' + message.content + '\\n</tool_response>' }}
                    {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
                        {{- '<|im_end|>\\n' }}
                    {%- endif %}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|im_start|>assistant\\n' }}
            {%- endif %}
            """;

    private static final List<Message> TOOL_CONVERSATION = List.of(
            Message.user("Weather in Paris?"),
            Message.assistant("Checking."),
            new Message("tool", "18C"),
            new Message("tool", "sunny"),
            Message.assistant("18C and sunny."));

    @Test
    void tokenizerConfigTemplateRendersExactly() throws Exception {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model_max_length", 32768);
        json.put("bos_token", null);
        json.put("eos_token", Map.of("content", "<|im_end|>", "special", true));
        json.put("chat_template", QWEN_LIKE);
        Path config = write(dir, "tokenizer_config.json", new ObjectMapper().writeValueAsString(json));
        ChatTemplate template = ChatTemplate.fromTokenizerConfig(config);
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\nChecking.<|im_end|>\n"
                        + "<|im_start|>user\n<tool_response>\n18C\n</tool_response>\n<tool_response>\nsunny\n"
                        + "</tool_response><|im_end|>\n<|im_start|>assistant\n18C and sunny.<|im_end|>\n",
                template.render(TOOL_CONVERSATION, false));
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
                        + "<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\nChecking.<|im_end|>\n"
                        + "<|im_start|>user\n<tool_response>\n18C\n</tool_response>\n<tool_response>\nsunny\n"
                        + "</tool_response><|im_end|>\n<|im_start|>assistant\n",
                template.render(TOOL_CONVERSATION.subList(0, 4), true));
    }

    @Test
    void tokenizerConfigSpecialTokensMayBeStringsOrAddedTokenObjects() {
        Path config = write(dir, "tokenizer_config.json", "{\"bos_token\": {\"content\": \"<s>\", \"lstrip\": false},"
                + " \"eos_token\": \"</s>\", \"chat_template\": \"{{ bos_token }}{{ messages[0].content }}{{ eos_token }}\"}");
        assertEquals("<s>Hi</s>", ChatTemplate.fromTokenizerConfig(config).render(List.of(Message.user("Hi")), false));
    }

    @Test
    void tokenizerConfigTemplateListUsesTheDefaultOne() {
        Path config = write(dir, "tokenizer_config.json", "{\"chat_template\": ["
                + "{\"name\": \"tool_use\", \"template\": \"TOOLS\"},"
                + "{\"name\": \"default\", \"template\": \"{{ messages[0].content }}!\"}]}");
        assertEquals("Hi!", ChatTemplate.fromTokenizerConfig(config).render(List.of(Message.user("Hi")), false));
    }

    @Test
    void aChatTemplateJinjaFileBesideTheConfigIsUsedWhenTheConfigHasNone() {
        write(dir, "chat_template.jinja", "{% for m in messages %}[{{ m.role }}]{{ m.content }}\n{% endfor %}\n");
        Path config = write(dir, "tokenizer_config.json", "{\"eos_token\": \"</s>\"}");
        assertEquals("[user]Hi\n[assistant]Yo\n", ChatTemplate.fromTokenizerConfig(config)
                .render(List.of(Message.user("Hi"), Message.assistant("Yo")), false));
    }

    @Test
    void aConfigWithoutAnyTemplateIsAnErrorNamingTheFile() {
        Path config = write(dir, "tokenizer_config.json", "{\"eos_token\": \"</s>\"}");
        var e = assertThrows(DataException.class, () -> ChatTemplate.fromTokenizerConfig(config));
        assertEquals(config + ": no \"chat_template\" here and no chat_template.jinja beside it; pass a named template",
                e.getMessage());
    }

    @Test
    void smolLm2TemplateAddsItsDefaultSystemPrompt() {
        String source = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                + "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                + "<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
                + " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
                + "{% endif %}";
        assertEquals("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                        + "<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n",
                ChatTemplate.ofJinja(source, "", "")
                        .render(List.of(Message.user("Hi"), Message.assistant("Hello")), false));
    }

    @Test
    void pythonStringMethodsWorkOnStrings() {
        String source = "{{ bos_token }}{% for m in messages %}{{ m['role'].upper() + ':' + m['content'].strip().lower()"
                + " + '|' + m['content'].split(' ')|join('_') + '|' + m['content'].lstrip().rstrip('!') }}"
                + "{% if m['content'].startswith(' ') and m['role'].endswith('er') %}|yes{% endif %}\n"
                + "{% endfor %}{{ eos_token }}";
        assertEquals("<s>USER:hi there!|_Hi_There!|Hi There|yes</s>",
                ChatTemplate.ofJinja(source, "<s>", "</s>").render(List.of(Message.user(" Hi There!")), false));
    }

    @Test
    void aTemplateWithUnclosedBlocksIsRejectedWhenItIsRead() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> ChatTemplate.ofJinja("{% for m in messages %}{{ m.content }}", "", ""));
        assertEquals("chat template: Syntax error in '{% for m in messages %}': Missing end tag: endfor for tag"
                + " defined as: {% for m in messages %} (template line 1)", e.getMessage());
    }

    @Test
    void aBrokenExpressionFailsWhenRenderedWithOneLine() {
        ChatTemplate template = ChatTemplate.ofJinja("{{ 'a' + }}", "", "");
        var e = assertThrows(IllegalArgumentException.class, () -> template.render(List.of(Message.user("Hi")), false));
        assertTrue(e.getMessage().startsWith("chat template: Error parsing ''a' +': syntax error at position 8"),
                e.getMessage());
    }
}
