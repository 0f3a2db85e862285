package dev.tessera.training.data;

import static dev.tessera.training.data.TestData.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.lists;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A row that cannot be used is reported as {@code file:line: what was expected}, or skipped and counted. */
class BadRowsTest {
    private static final CharTokenizer TOKENIZER = CharTokenizer.llamaLike();
    private static final DataOptions STRICT = DataOptions.defaults();
    private static final DataOptions SKIPPING = DataOptions.defaults().withSkipBadRows(true);

    @TempDir
    Path dir;

    private String errorFor(String name, String content, DataOptions options) {
        Path file = write(dir, name, content);
        return assertThrows(DataException.class, () -> SftDataset.load(file, TOKENIZER, options)).getMessage();
    }

    private String at(String name, int line) {
        return dir.resolve(name) + ":" + line + ": ";
    }

    @Test
    void aWrongTypeNamesTheFileLineAndKey() {
        String content = """
                {"instruction": "a", "input": "", "output": "b"}

                {"instruction": "a", "input": "", "output": 3}
                """;
        assertEquals(at("data.jsonl", 3) + "expected \"output\" to be a string", errorFor("data.jsonl", content, STRICT));
    }

    @Test
    void invalidJsonNamesTheLine() {
        String message = errorFor("data.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\"\n", STRICT);
        assertTrue(message.startsWith(at("data.jsonl", 2) + "invalid JSON: "), message);
    }

    @Test
    void aRowThatIsNotAnObjectIsAnError() {
        assertEquals(at("data.jsonl", 2) + "expected a JSON object, found an array",
                errorFor("data.jsonl", "{\"text\": \"a\"}\n[1, 2]\n", STRICT));
        assertEquals(at("data.json", 1) + "expected a JSON object, found a number",
                errorFor("data.json", "[1, 2]\n", STRICT));
    }

    @Test
    void nestedProblemsNameThePathInsideTheRow() {
        assertEquals(at("d.jsonl", 1) + "expected \"conversations[1].from\" to be \"human\", \"gpt\" or \"system\","
                        + " found \"bot\"",
                errorFor("d.jsonl", "{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"},"
                        + " {\"from\": \"bot\", \"value\": \"b\"}]}", STRICT));
        assertEquals(at("d.jsonl", 1) + "expected \"messages[0].content\" to be a string",
                errorFor("d.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": null}]}", STRICT));
        assertEquals(at("d.jsonl", 1) + "expected \"labels\" to have 2 entries like \"input_ids\", found 1",
                errorFor("d.jsonl", "{\"input_ids\": [1, 2], \"labels\": [1]}", STRICT));
        assertEquals(at("d.jsonl", 1) + "expected \"labels[0]\" to be a token id >= 0 or -100, found -5",
                errorFor("d.jsonl", "{\"input_ids\": [1, 2], \"labels\": [-5, 1]}", STRICT));
    }

    @Test
    void chatTemplateExceptionsAreRowErrors() {
        String twoUsers = "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"user\", \"content\": \"b\"}]}";
        assertEquals(at("d.jsonl", 1) + "chat template: Conversation roles must alternate user/assistant/user/assistant/...",
                errorFor("d.jsonl", twoUsers, STRICT.withChatTemplate(ChatTemplate.named("llama-2", TOKENIZER))));
    }

    @Test
    void skippingBadRowsKeepsTheGoodOnesAndCountsTheRest() {
        Path file = write(dir, "data.jsonl", """
                {"text": "a"}
                {"text": 1}
                not json
                {"text": "b"}
                """);
        SftDataset data = SftDataset.load(file, TOKENIZER, SKIPPING);
        assertEquals(2, data.rows());
        assertEquals(2, data.skippedRows());
        assertEquals(List.of(file + ":2: expected \"text\" to be a string"), data.firstProblems().subList(0, 1));
        assertTrue(data.firstProblems().get(1).startsWith(file + ":3: invalid JSON: "));
    }

    @Test
    void aBadFirstRowIsSkippedBeforeTheFormatIsDetected() {
        SftDataset data = SftDataset.load(write(dir, "d.jsonl", "oops\n{\"input_ids\": [1]}\n"), TOKENIZER, SKIPPING);
        assertEquals(DataFormat.TOKENS, data.format());
        assertEquals(1, data.skippedRows());
    }

    @Test
    void aJsonArrayElementsLineIsWhereItStarts() {
        String content = "[\n  {\"text\": \"a\"},\n  {\"text\": \"b\"},\n  {\n    \"text\": false\n  }\n]\n";
        assertEquals(at("d.json", 4) + "expected \"text\" to be a string", errorFor("d.json", content, STRICT));
    }

    @Test
    void brokenJsonInsideAnArrayCannotBeSkipped() {
        String message = errorFor("d.json", "[\n{\"text\": \"a\"},\n{\"text\" \"b\"}\n]", SKIPPING);
        assertTrue(message.startsWith(at("d.json", 3) + "invalid JSON: "), message);
    }

    @Test
    void aFileWithNoRowsIsAnError() {
        assertEquals(dir.resolve("d.jsonl") + ": no data rows", errorFor("d.jsonl", "\n\n", STRICT));
    }

    @Test
    void aFileWithOnlyBadRowsIsAnErrorEvenWhenSkipping() {
        assertEquals(dir.resolve("d.jsonl") + ": no usable rows (2 skipped)", errorFor("d.jsonl", "1\n2\n", SKIPPING));
    }

    @Test
    void aTxtFileCannotBeReadAsJsonRows() {
        assertEquals(dir.resolve("d.txt") + ": a .txt file is plain text; expected --format text or auto, not alpaca",
                errorFor("d.txt", "hello\n", STRICT.withFormat(DataFormat.ALPACA)));
    }

    @Test
    void invalidUtf8InATextFileIsALineError() {
        Path file = write(dir, "d.txt", new byte[] {'o', 'k', '\n', (byte) 0xC3, '(', '\n'});
        var e = assertThrows(DataException.class, () -> SftDataset.load(file, TOKENIZER, STRICT));
        assertEquals(file + ":2: invalid UTF-8", e.getMessage());
    }

    // ---- fuzzing: whatever the bytes, the outcome is examples or one clean line ----

    private static final String[] VALID_ROWS = {
        "{\"instruction\": \"Add\", \"input\": \"1 2\", \"output\": \"3\"}",
        "{\"conversations\": [{\"from\": \"human\", \"value\": \"Hi\"}, {\"from\": \"gpt\", \"value\": \"Yo\"}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}]}",
        "{\"input_ids\": [1, 2, 3], \"labels\": [-100, 2, 3]}",
        "{\"text\": \"plain words\"}",
        "[{\"text\": \"a\"}, {\"text\": \"b\"}]",
    };

    /** Loads {@code bytes} as {@code name}; returns normally or throws only a one-line DataException for that file. */
    private void loadsOrFailsCleanly(String name, byte[] bytes, DataOptions options) {
        Path file = write(dir, name, bytes);
        Pattern clean = Pattern.compile("\\Q" + file + "\\E(:[1-9][0-9]*)?: [^\\n\\r]+");
        try {
            SftDataset.load(file, TOKENIZER, options);
        } catch (DataException e) {
            assertTrue(clean.matcher(e.getMessage()).matches(), e.getMessage());
        }
    }

    @Test
    void randomBytesOnlyEverGiveACleanError() {
        qt().withExamples(400).forAll(lists().of(integers().between(0, 255)).ofSizeBetween(0, 120), integers().between(0, 3))
                .checkAssert((values, variant) -> {
                    byte[] bytes = new byte[values.size()];
                    for (int i = 0; i < bytes.length; i++) {
                        bytes[i] = values.get(i).byteValue();
                    }
                    String name = variant == 3 ? "fuzz.txt" : "fuzz.jsonl";
                    loadsOrFailsCleanly(name, bytes, variant % 2 == 0 ? STRICT : SKIPPING);
                });
    }

    @Test
    void mutatedRowsOnlyEverGiveACleanError() {
        String alphabet = "{}[]\":,-0123456789 \\nulltrefas\u00e9\u0000\n";
        qt().withExamples(1500)
                .forAll(integers().between(0, VALID_ROWS.length - 1), integers().between(0, 10_000),
                        integers().between(0, 2), integers().between(0, alphabet.length() - 1))
                .checkAssert((row, position, edit, symbol) -> {
                    StringBuilder s = new StringBuilder(VALID_ROWS[row]);
                    int at = position % (s.length() + 1);
                    char c = alphabet.charAt(symbol);
                    switch (edit) {
                        case 0 -> s.insert(at, c);
                        case 1 -> s.deleteCharAt(Math.min(at, s.length() - 1));
                        default -> s.setCharAt(Math.min(at, s.length() - 1), c);
                    }
                    byte[] bytes = (s + "\n" + VALID_ROWS[4] + "\n").getBytes(StandardCharsets.UTF_8);
                    loadsOrFailsCleanly("mutated.jsonl", bytes, STRICT);
                    loadsOrFailsCleanly("mutated.jsonl", bytes, SKIPPING.withChatTemplate(
                            ChatTemplate.named("llama-2", TOKENIZER)));
                });
    }
}
