package dev.tessera.training.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** The one-line descriptions of read and parse failures that data errors carry. */
class RowReaderDescribeTest {

    @Test
    void aMessageIsKeptUpTo200CharactersAndCutAfter() {
        assertEquals("disk gone", RowReader.describe(new IOException("disk gone")));
        String exact = "x".repeat(200);
        assertEquals(exact, RowReader.describe(new IOException(exact)), "200 characters fit");
        assertEquals("y".repeat(200) + "...", RowReader.describe(new IOException("y".repeat(201))));
    }

    @Test
    void aMissingOrBlankMessageIsTheExceptionsName() {
        assertEquals("IOException", RowReader.describe(new IOException((String) null)));
        assertEquals("IllegalStateException", RowReader.describe(new IllegalStateException("  ")));
        assertEquals("IOException", RowReader.describe(new IOException("")));
    }

    @Test
    void jacksonErrorsLoseTheirSourceExcerpt() {
        JsonProcessingException e = assertThrows(JsonProcessingException.class,
                () -> new ObjectMapper().readTree("{\"a\": tru}"));
        String text = RowReader.describe(e);
        assertEquals(e.getOriginalMessage(), text);
        assertFalse(text.contains("Source:") || text.contains("line: 1"), text);
        assertFalse(text.contains("\n"), "one line: " + text);
    }
}
