package dev.tessera.training.data;

import static dev.tessera.training.data.TestData.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rows with no labelled token are dropped before training (and named), truncation is counted. */
class NothingToLearnTest {
    private static final CharTokenizer TOKENIZER = CharTokenizer.gpt2Like();

    @TempDir
    Path dir;

    @Test
    void aMaxLengthThatCutsAwayEveryResponseIsAnErrorThatSaysWhy() {
        Path file = write(dir, "a.jsonl", """
                {"instruction": "say hi", "input": "", "output": "hi there"}
                {"instruction": "say bye", "input": "", "output": "bye now"}
                """);
        DataOptions options = DataOptions.defaults().withMaxLength(4);
        var e = assertThrows(DataException.class, () -> SftDataset.loadForTraining(file, TOKENIZER, options));
        assertTrue(e.getMessage().contains("nothing to train on") && e.getMessage().contains("--max-length"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
        // score keeps such rows (it reports {"loss": null, "tokens": 0} for them)
        assertEquals(2, SftDataset.load(file, TOKENIZER, options).examples().size());
    }

    @Test
    void chatRowsWithoutAnAssistantTurnAreDroppedAndNamed() {
        Path file = write(dir, "m.jsonl", """
                {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}
                {"messages": [{"role": "user", "content": "anyone?"}]}
                {"messages": [{"role": "user", "content": "hey"}, {"role": "assistant", "content": "hey you"}]}
                {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "x"}]}
                """);
        SftDataset data = SftDataset.loadForTraining(file, TOKENIZER, DataOptions.defaults());
        assertEquals(2, data.examples().size());
        assertEquals(2, data.droppedUnlabelledRows());
        assertEquals(List.of(2L, 4L), data.droppedUnlabelledLines());
        for (Example e : data.examples()) {
            assertTrue(e.targetCount() > 0);
        }
    }

    @Test
    void onlyChatRowsWithoutAssistantTurnsIsAnError() {
        Path file = write(dir, "m.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"anyone?\"}]}\n");
        var e = assertThrows(DataException.class, () -> SftDataset.loadForTraining(file, TOKENIZER, DataOptions.defaults()));
        assertTrue(e.getMessage().contains("nothing to train on"), e.getMessage());
    }

    @Test
    void truncatedRowsAreCountedAndCutFromTheRight() {
        Path file = write(dir, "t.jsonl", """
                {"text": "abcdefghijklmnop"}
                {"text": "ab"}
                {"text": "abcdefghijklmnopqrstuvwxyz"}
                """);
        SftDataset data = SftDataset.loadForTraining(file, TOKENIZER, DataOptions.defaults().withMaxLength(8));
        assertEquals(2, data.truncatedRows());
        assertEquals(8, data.examples().get(0).length());
        assertArrayEquals(java.util.Arrays.copyOf(TOKENIZER.encode("abcdefghijklmnop"), 8), data.examples().get(0).inputIds());
        assertEquals(0, SftDataset.loadForTraining(file, TOKENIZER, DataOptions.defaults()).truncatedRows());
    }

    @Test
    void skippedRowsKeepTheirLineNumbers() {
        Path file = write(dir, "s.jsonl", """
                {"text": "ab"}
                not json
                {"text": "cd"}
                {"text": 5}
                """);
        SftDataset data = SftDataset.loadForTraining(file, TOKENIZER, DataOptions.defaults().withSkipBadRows(true));
        assertEquals(List.of(2L, 4L), data.skippedLines());
    }

    @Test
    void analpacaGenerationPromptIsTheTrainingRowsPrompt() {
        int[] ids = GenerationPrompt.encode("alpaca", "say hi", TOKENIZER, null);
        assertArrayEquals(TOKENIZER.encode("### Instruction:\nsay hi\n\n### Response:\n"), ids);
        assertArrayEquals(TOKENIZER.encode("say hi"), GenerationPrompt.encode("none", "say hi", TOKENIZER, null));
        String chat = ChatTemplate.named("chatml", TOKENIZER).render(List.of(Message.user("say hi")), true);
        assertArrayEquals(TOKENIZER.encode(chat), GenerationPrompt.encode("chat", "say hi", TOKENIZER, null));
    }
}
