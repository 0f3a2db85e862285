package dev.tessera.training.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** Rows at the edges of what they may hold: token id 0, and values quoted in errors at 40 characters. */
class RowParserEdgesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    @Test
    void tokenIdZeroIsAnIdAndMinusOneIsNot() throws Exception {
        Row.Tokens row = (Row.Tokens) RowParser.parse(DataFormat.TOKENS, 3, json("{\"input_ids\": [0, 5, 0]}"));
        assertArrayEquals(new int[] {0, 5, 0}, row.inputIds());
        assertArrayEquals(new int[] {0, 5, 0}, row.labels());
        Row.Tokens labelled = (Row.Tokens) RowParser.parse(DataFormat.TOKENS, 3,
                json("{\"input_ids\": [1, 2], \"labels\": [-100, 0]}"));
        assertArrayEquals(new int[] {-100, 0}, labelled.labels());
        RowProblem p = assertThrows(RowProblem.class,
                () -> RowParser.parse(DataFormat.TOKENS, 1, json("{\"input_ids\": [-1]}")));
        assertTrue(p.getMessage().contains(">= 0, found -1"), p.getMessage());
    }

    @Test
    void valuesInErrorsAreQuotedWholeUpTo40CharactersAndCutAfter() throws Exception {
        String forty = "r".repeat(40);
        RowProblem whole = assertThrows(RowProblem.class, () -> RowParser.parse(DataFormat.MESSAGES, 1,
                json("{\"messages\": [{\"role\": \"" + forty + "\", \"content\": \"x\"}]}")));
        assertTrue(whole.getMessage().endsWith("found \"" + forty + "\""), whole.getMessage());
        RowProblem cut = assertThrows(RowProblem.class, () -> RowParser.parse(DataFormat.SHAREGPT, 1,
                json("{\"conversations\": [{\"from\": \"" + forty + "s\", \"value\": \"x\"}]}")));
        assertTrue(cut.getMessage().endsWith("found \"" + forty + "...\""), cut.getMessage());
        assertEquals(-1, cut.getMessage().indexOf(forty + "s"));
    }
}
