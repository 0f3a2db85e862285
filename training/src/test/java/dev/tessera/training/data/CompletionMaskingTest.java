package dev.tessera.training.data;

import static dev.tessera.training.data.TestData.M;
import static dev.tessera.training.data.TestData.concat;
import static dev.tessera.training.data.TestData.ints;
import static dev.tessera.training.data.TestData.masked;
import static dev.tessera.training.data.TestData.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the model reads and is scored on, row by row. The test tokenizer maps each char to
 * its code point ('H' = 72) and special tokens to ids from 1000 ({@code <s>} 1000,
 * {@code </s>} 1001, {@code <|im_start|>} 1003, {@code <|im_end|>} 1004).
 */
class CompletionMaskingTest {
    private static final CharTokenizer LLAMA = CharTokenizer.llamaLike();
    private static final int BOS = CharTokenizer.BOS;
    private static final int EOS = CharTokenizer.EOS;

    @TempDir
    Path dir;

    private Example only(String jsonl, CharTokenizer tokenizer, DataOptions options) {
        SftDataset data = SftDataset.load(write(dir, "data.jsonl", jsonl), tokenizer, options);
        assertEquals(1, data.examples().size());
        return data.examples().get(0);
    }

    private Example only(String jsonl, DataOptions options) {
        return only(jsonl, LLAMA, options);
    }

    @Test
    void alpacaLabelsOnlyTheResponseAndEos() {
        Example e = only("{\"instruction\": \"Say hi\", \"input\": \"\", \"output\": \"Hi\"}\n", DataOptions.defaults());
        String prompt = "### Instruction:\nSay hi\n\n### Response:\n";
        assertArrayEquals(concat(ints(BOS), LLAMA.ids(prompt), ints('H', 'i', EOS)), e.inputIds());
        assertArrayEquals(concat(masked(1 + prompt.length()), ints('H', 'i', EOS)), e.labels());
    }

    @Test
    void alpacaWithInputHasAnInputSection() {
        Example e = only("{\"instruction\": \"Add\", \"input\": \"1 2\", \"output\": \"3\"}\n", DataOptions.defaults());
        String prompt = "### Instruction:\nAdd\n\n### Input:\n1 2\n\n### Response:\n";
        assertArrayEquals(concat(ints(BOS), LLAMA.ids(prompt), ints('3', EOS)), e.inputIds());
        assertArrayEquals(concat(masked(1 + prompt.length()), ints('3', EOS)), e.labels());
    }

    @Test
    void alpacaWithoutAnInputKeyIsLikeAnEmptyInput() {
        Example e = only("{\"instruction\": \"Add\", \"output\": \"3\"}\n", DataOptions.defaults());
        assertArrayEquals(concat(ints(BOS), LLAMA.ids("### Instruction:\nAdd\n\n### Response:\n"), ints('3', EOS)),
                e.inputIds());
    }

    @Test
    void withoutCompletionOnlyLabelsAreTheInputIds() {
        Example e = only("{\"instruction\": \"Add\", \"input\": \"1 2\", \"output\": \"3\"}\n",
                DataOptions.defaults().withCompletionOnly(false));
        assertArrayEquals(e.inputIds(), e.labels());
    }

    @Test
    void messagesLabelOnlyTheAssistantReplyWithItsEndOfTurn() {
        Example e = only("{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
                + " {\"role\": \"assistant\", \"content\": \"Yo\"}]}\n", DataOptions.defaults());
        // <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nYo<|im_end|>\n   (ChatML by default)
        assertArrayEquals(ints(1003, 'u', 's', 'e', 'r', '\n', 'H', 'i', 1004, '\n',
                1003, 'a', 's', 's', 'i', 's', 't', 'a', 'n', 't', '\n', 'Y', 'o', 1004, '\n'), e.inputIds());
        assertArrayEquals(ints(M, M, M, M, M, M, M, M, M, M,
                M, M, M, M, M, M, M, M, M, M, M, 'Y', 'o', 1004, '\n'), e.labels());
    }

    @Test
    void shareGptLabelsEveryGptTurnAndNothingElse() {
        Example e = only("{\"conversations\": [{\"from\": \"system\", \"value\": \"Be brief.\"},"
                + " {\"from\": \"human\", \"value\": \"Hi\"}, {\"from\": \"gpt\", \"value\": \"Hello\"},"
                + " {\"from\": \"human\", \"value\": \"Bye\"}, {\"from\": \"gpt\", \"value\": \"Ciao\"}]}\n",
                DataOptions.defaults());
        String prompt1 = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
        String reply1 = "Hello<|im_end|>\n";
        String prompt2 = "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n";
        String reply2 = "Ciao<|im_end|>\n";
        assertArrayEquals(concat(LLAMA.ids(prompt1), LLAMA.ids(reply1), LLAMA.ids(prompt2), LLAMA.ids(reply2)),
                e.inputIds());
        assertArrayEquals(concat(masked(LLAMA.ids(prompt1).length), LLAMA.ids(reply1),
                masked(LLAMA.ids(prompt2).length), LLAMA.ids(reply2)), e.labels());
    }

    @Test
    void chatTemplatesDecideBosAndEos() {
        // Llama-2 writes BOS before each instruction and " </s>" after each reply; nothing is added.
        Example e = only("{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
                        + " {\"role\": \"assistant\", \"content\": \"Yo\"}]}\n",
                DataOptions.defaults().withChatTemplate(ChatTemplate.named("llama-2", LLAMA)));
        assertArrayEquals(concat(ints(BOS), LLAMA.ids("[INST] Hi [/INST]"), ints(' ', 'Y', 'o', ' ', EOS)),
                e.inputIds());
        assertArrayEquals(concat(masked(1 + "[INST] Hi [/INST]".length()), ints(' ', 'Y', 'o', ' ', EOS)),
                e.labels());
    }

    @Test
    void llama3LabelsTheReplyAndItsEotButNotTheAssistantHeader() {
        Example e = only("{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"},"
                        + " {\"role\": \"assistant\", \"content\": \"Yo\"}]}\n",
                DataOptions.defaults().withChatTemplate(ChatTemplate.named("llama-3", LLAMA)));
        String prompt = "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n";
        assertArrayEquals(concat(ints(BOS), LLAMA.ids(prompt), LLAMA.ids("Yo<|eot_id|>")), e.inputIds());
        assertArrayEquals(concat(masked(1 + prompt.length()), LLAMA.ids("Yo<|eot_id|>")), e.labels());
    }

    @Test
    void aConversationWithoutAssistantTurnsHasNoLabels() {
        Example e = only("{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n", DataOptions.defaults());
        assertEquals(0, e.targetCount());
    }

    @Test
    void textRowsAreLabelledEverywhereBetweenBosAndEos() {
        Example e = only("{\"text\": \"abc\"}\n", DataOptions.defaults());
        assertArrayEquals(ints(BOS, 'a', 'b', 'c', EOS), e.inputIds());
        assertArrayEquals(ints(BOS, 'a', 'b', 'c', EOS), e.labels());
    }

    @Test
    void aTokenizerWhoseBosIsItsEosAddsNoBosLikeGpt2() {
        Example e = only("{\"text\": \"abc\"}\n", CharTokenizer.gpt2Like(), DataOptions.defaults());
        assertArrayEquals(ints('a', 'b', 'c', 1005), e.inputIds());
    }

    @Test
    void bosCanBeForcedOnOrOff() {
        assertArrayEquals(ints(1005, 'a', 1005), only("{\"text\": \"a\"}\n", CharTokenizer.gpt2Like(),
                DataOptions.defaults().withAddBos(true)).inputIds());
        assertArrayEquals(ints('a', EOS), only("{\"text\": \"a\"}\n", DataOptions.defaults().withAddBos(false))
                .inputIds());
    }

    @Test
    void tokenRowsWithoutLabelsAreLabelledWithTheirIds() {
        Example e = only("{\"input_ids\": [5, 6, 7]}\n", DataOptions.defaults());
        assertArrayEquals(ints(5, 6, 7), e.inputIds());
        assertArrayEquals(ints(5, 6, 7), e.labels());
    }

    @Test
    void tokenRowsKeepTheirLabelsAndGetNoSpecialTokens() {
        Example e = only("{\"input_ids\": [5, 6, 7], \"labels\": [-100, 6, -100]}\n", DataOptions.defaults());
        assertArrayEquals(ints(5, 6, 7), e.inputIds());
        assertArrayEquals(ints(M, 6, M), e.labels());
    }

    @Test
    void examplesAreCutToMaxLengthFromTheRight() {
        Example e = only("{\"text\": \"abcdef\"}\n", DataOptions.defaults().withMaxLength(4));
        assertArrayEquals(ints(BOS, 'a', 'b', 'c'), e.inputIds());
        assertArrayEquals(ints(BOS, 'a', 'b', 'c'), e.labels());
    }

    @Test
    void aPromptLongerThanMaxLengthLeavesNothingLabelled() {
        Example e = only("{\"instruction\": \"a long instruction\", \"output\": \"x\"}\n",
                DataOptions.defaults().withMaxLength(8));
        assertEquals(8, e.length());
        assertArrayEquals(masked(8), e.labels());
    }

    @Test
    void tokenIdsMustBeInTheVocabulary() {
        var e = assertThrows(DataException.class, () -> only("{\"input_ids\": [5, 5000]}\n", DataOptions.defaults()));
        assertEquals(dir.resolve("data.jsonl") + ":1: expected \"input_ids[1]\" to be below the vocabulary size 1100,"
                + " found 5000", e.getMessage());
    }
}
