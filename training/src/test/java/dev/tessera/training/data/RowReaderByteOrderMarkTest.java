package dev.tessera.training.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files saved by editors that start with a UTF-8 byte order mark, files whose first character
 * merely begins with the mark's first bytes, and a JSON array behind more blank bytes than the
 * reader peeks at.
 */
class RowReaderByteOrderMarkTest {
    private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    @TempDir
    Path tmp;

    private Path write(String name, byte[] prefix, String text) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(prefix);
        out.write(text.getBytes(StandardCharsets.UTF_8));
        Path p = tmp.resolve(name);
        Files.write(p, out.toByteArray());
        return p;
    }

    private static List<RowReader.RawRow> rows(Path p) {
        List<RowReader.RawRow> rows = new ArrayList<>();
        try (RowReader r = RowReader.open(p)) {
            for (RowReader.RawRow row = r.next(); row != null; row = r.next()) {
                rows.add(row);
            }
        }
        return rows;
    }

    @Test
    void aByteOrderMarkIsSkippedBeforeTextLines() throws IOException {
        List<RowReader.RawRow> rows = rows(write("a.txt", BOM, "hello\nworld\n"));
        assertEquals(2, rows.size());
        assertEquals("hello", rows.get(0).text(), "no U+FEFF left at the start");
        assertEquals("world", rows.get(1).text());
    }

    @Test
    void aByteOrderMarkIsSkippedBeforeAJsonArraySpreadOverLines() throws IOException {
        Path p = write("a.json", BOM, "[\n  {\"text\": \"one\"},\n  {\"text\": \"two\"}\n]\n");
        List<RowReader.RawRow> rows = rows(p);
        assertEquals(2, rows.size(), "read as an array, not as JSON lines");
        assertEquals("one", rows.get(0).json().get("text").asText());
        assertEquals("two", rows.get(1).json().get("text").asText());
        try (RowReader r = RowReader.open(p)) {
            assertFalse(r.isPlainText());
        }
    }

    @Test
    void aByteOrderMarkOnAnOtherwiseBlankFirstLineLeavesABlankLine() throws IOException {
        List<RowReader.RawRow> rows = rows(write("a.jsonl", BOM, "\n{\"text\": \"x\"}\n"));
        assertEquals(1, rows.size(), "the blank first line is skipped, not read as a bad row");
        assertNull(rows.get(0).problem());
        assertEquals(2, rows.get(0).line());
        assertEquals("x", rows.get(0).json().get("text").asText());
    }

    @Test
    void aFirstCharacterThatStartsLikeTheMarkIsKept() throws IOException {
        // U+F8FF is EF A3 BF and U+FEC0 is EF BB 80: the first one or two bytes of a mark, then not
        for (String first : new String[] {"\uF8FF", "\uFEC0"}) {
            List<RowReader.RawRow> rows = rows(write("b.txt", new byte[0], first + "x\nnext\n"));
            assertEquals(first + "x", rows.get(0).text(), "U+" + Integer.toHexString(first.charAt(0)));
            assertEquals("next", rows.get(1).text());
        }
        List<RowReader.RawRow> json = rows(write("c.jsonl", new byte[0], "{\"t\": \"\uFEC0\"}\n"));
        assertEquals("\uFEC0", json.get(0).json().get("t").asText());
    }

    @Test
    void blanksLongerThanThePeekStillReadAsJsonLines() throws IOException {
        String blanks = " ".repeat(70_000);
        List<RowReader.RawRow> rows = rows(write("d.jsonl", new byte[0], blanks + "{\"text\": \"far\"}\n{\"text\": \"next\"}\n"));
        assertEquals(2, rows.size());
        assertNull(rows.get(0).problem());
        assertEquals("far", rows.get(0).json().get("text").asText());
        List<RowReader.RawRow> array = rows(write("e.json", new byte[0], "\n\t \r\n[{\"text\": \"x\"}]"));
        assertEquals(1, array.size());
        assertTrue(array.get(0).json().isObject(), "leading JSON whitespace before an array");
    }
}
