package dev.tessera.training.data;

import static dev.tessera.training.data.TestData.ints;
import static dev.tessera.training.data.TestData.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code --format auto}: the first row's keys say what the file is; the file's first character says how rows are laid out. */
class FormatDetectionTest {
    private static final CharTokenizer TOKENIZER = CharTokenizer.llamaLike();

    @TempDir
    Path dir;

    private DataFormat detected(String name, String content) {
        return SftDataset.load(write(dir, name, content), TOKENIZER, DataOptions.defaults()).format();
    }

    /** Each format with a first row that only its key can identify. */
    static Stream<Arguments> keyedRows() {
        return Stream.of(
                Arguments.of(DataFormat.ALPACA, "{\"instruction\": \"a\", \"input\": \"\", \"output\": \"b\"}"),
                Arguments.of(DataFormat.SHAREGPT, "{\"conversations\": [{\"from\": \"human\", \"value\": \"a\"}]}"),
                Arguments.of(DataFormat.MESSAGES, "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}"),
                Arguments.of(DataFormat.TOKENS, "{\"input_ids\": [1, 2]}"),
                Arguments.of(DataFormat.TEXT, "{\"text\": \"a\"}"));
    }

    /** instruction means Alpaca, conversations ShareGPT, messages messages, input_ids tokens, text text. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("keyedRows")
    void theFirstRowsKeyNamesTheFormat(DataFormat format, String row) {
        assertEquals(format, detected("d.jsonl", row));
    }

    @Test
    void aTxtFileIsTextWithOneRowPerNonBlankLine() {
        SftDataset data = SftDataset.load(write(dir, "d.txt", "ab\n\n  \ncd\r\n"), TOKENIZER, DataOptions.defaults());
        assertEquals(DataFormat.TEXT, data.format());
        assertEquals(2, data.rows());
        assertArrayEquals(ints(CharTokenizer.BOS, 'c', 'd', CharTokenizer.EOS), data.examples().get(1).inputIds());
    }

    @Test
    void aFileStartingWithABracketIsAJsonArrayOfRows() {
        SftDataset data = SftDataset.load(write(dir, "d.json", "\n [\n {\"text\": \"a\"},\n {\"text\": \"b\"}\n]\n"),
                TOKENIZER, DataOptions.defaults());
        assertEquals(DataFormat.TEXT, data.format());
        assertEquals(2, data.rows());
    }

    @Test
    void aUtf8ByteOrderMarkIsIgnored() {
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        byte[] row = "{\"text\": \"a\"}\n".getBytes(StandardCharsets.UTF_8);
        byte[] content = new byte[bom.length + row.length];
        System.arraycopy(bom, 0, content, 0, bom.length);
        System.arraycopy(row, 0, content, bom.length, row.length);
        assertEquals(DataFormat.TEXT, SftDataset.load(write(dir, "d.jsonl", content), TOKENIZER,
                DataOptions.defaults()).format());
    }

    @Test
    void aLineLongerThanTheReadBufferIsOneRow() {
        String longText = "x".repeat(200_000);
        SftDataset data = SftDataset.load(write(dir, "d.jsonl", "{\"text\": \"" + longText + "\"}\r\n{\"text\": \"y\"}"),
                TOKENIZER, DataOptions.defaults().withMaxLength(300_000));
        assertEquals(2, data.rows());
        assertEquals(200_002, data.examples().get(0).length());
    }

    @Test
    void anExplicitFormatOverridesTheKeys() {
        // An Alpaca row that also carries "text": detection would say Alpaca, --format text reads the text.
        SftDataset data = SftDataset.load(write(dir, "d.jsonl", "{\"instruction\": \"i\", \"output\": \"o\", \"text\": \"t\"}"),
                TOKENIZER, DataOptions.defaults().withFormat(DataFormat.TEXT));
        assertArrayEquals(ints(CharTokenizer.BOS, 't', CharTokenizer.EOS), data.examples().get(0).inputIds());
    }

    @Test
    void unknownKeysAreAnErrorThatListsThem() {
        Path file = write(dir, "d.jsonl", "{\"question\": \"q\", \"answer\": \"a\"}\n");
        var e = assertThrows(DataException.class, () -> SftDataset.load(file, TOKENIZER, DataOptions.defaults()));
        assertEquals(file + ":1: cannot tell the format from the keys [answer, question]; expected input_ids,"
                + " conversations, messages, instruction or text (or pass --format)", e.getMessage());
    }

    @Test
    void formatNamesParseAsOnTheCommandLine() {
        assertEquals(DataFormat.SHAREGPT, DataFormat.fromName("sharegpt"));
        assertEquals(DataFormat.TOKENS, DataFormat.fromName("TOKENS"));
        var e = assertThrows(IllegalArgumentException.class, () -> DataFormat.fromName("csv"));
        assertEquals("unknown data format \"csv\"; expected one of auto|alpaca|sharegpt|messages|tokens|text",
                e.getMessage());
    }
}
