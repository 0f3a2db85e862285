package dev.tessera.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The quant-state JSON read field by field: what a hand-edited or foreign checkpoint can get
 * wrong is refused with one line that names the tensor and the field.
 */
class BnbJsonTest {
    private static final String KEY = "m.weight.quant_state.bitsandbytes__nf4";
    private static final String PLAIN = "\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [3, 5]";

    @Test
    void plainAndNestedStatesReadBackWhatWasWritten() {
        var plain = new BnbJson.Fields("fp4", 128, "bfloat16", new long[] {7, 2}, null, null, null);
        var back = BnbJson.read(BnbJson.write(plain), KEY);
        assertEquals("fp4", back.quantType());
        assertEquals(128, back.blocksize());
        assertEquals("bfloat16", back.dtype());
        assertArrayEquals(new long[] {7, 2}, back.shape());
        assertFalse(back.nested());
        assertNull(back.nestedOffset());

        var nested = new BnbJson.Fields("nf4", 64, "float32", new long[] {0}, 256, "float32", 0.0375f);
        var again = BnbJson.read(BnbJson.write(nested), KEY);
        assertTrue(again.nested());
        assertEquals(256, again.nestedBlocksize());
        assertEquals("float32", again.nestedDtype());
        assertEquals(0.0375f, again.nestedOffset());
        assertArrayEquals(new long[] {0}, again.shape());
    }

    @Test
    void aStateThatIsNotAJsonObjectIsRefused() {
        assertEquals(KEY + ": quant_state must be a JSON object", message("[1, 2]"));
        assertEquals(KEY + ": quant_state must be a JSON object", message("\"nf4\""));
        assertEquals(KEY + ": quant_state must be a JSON object", message(""));
        assertTrue(message("{\"quant_type\": ").startsWith(KEY + ": quant_state is not valid JSON: "));
    }

    @Test
    void everyFieldIsRequiredAndOfItsType() {
        assertEquals(KEY + ": unexpected quant_state field 'absmax'", message("{" + PLAIN + ", \"absmax\": 1}"));
        assertEquals(KEY + ": quant_state lacks field 'quant_type'",
                message("{\"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [3]}"));
        assertEquals(KEY + ": quant_state lacks field 'blocksize'",
                message("{\"quant_type\": \"nf4\", \"dtype\": \"float32\", \"shape\": [3]}"));
        assertEquals(KEY + ": quant_state lacks field 'dtype'",
                message("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"shape\": [3]}"));
        assertEquals(KEY + ": quant_state lacks field 'shape'",
                message("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\"}"));
        assertEquals(KEY + ": quant_state quant_type must be a string, got 4",
                message("{\"quant_type\": 4, \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": [3]}"));
        assertEquals(KEY + ": quant_state dtype must be a string, got null",
                message("{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": null, \"shape\": [3]}"));
        assertEquals(KEY + ": quant_state blocksize must be an int, got \"64\"",
                message("{\"quant_type\": \"nf4\", \"blocksize\": \"64\", \"dtype\": \"float32\", \"shape\": [3]}"));
        assertEquals(KEY + ": quant_state blocksize must be an int, got 64.0",
                message("{\"quant_type\": \"nf4\", \"blocksize\": 64.0, \"dtype\": \"float32\", \"shape\": [3]}"));
        // integral but past an int
        assertEquals(KEY + ": quant_state blocksize must be an int, got 4294967360",
                message("{\"quant_type\": \"nf4\", \"blocksize\": 4294967360, \"dtype\": \"float32\", \"shape\": [3]}"));
    }

    @Test
    void theShapeIsAListOfNonNegativeInts() {
        String head = "{\"quant_type\": \"nf4\", \"blocksize\": 64, \"dtype\": \"float32\", \"shape\": ";
        assertEquals(KEY + ": quant_state shape must be a list of ints", message(head + "12}"));
        String bad = KEY + ": quant_state shape must be a list of non-negative ints, got ";
        assertEquals(bad + "[3,-1]", message(head + "[3, -1]}"));
        assertEquals(bad + "[2.0]", message(head + "[2.0]}"));          // a number that fits a long, not integral
        assertEquals(bad + "[\"3\"]", message(head + "[\"3\"]}"));
        assertEquals(bad + "[36893488147419103232]", message(head + "[36893488147419103232]}")); // integral, past a long
        assertArrayEquals(new long[] {0, 4294967296L}, read(head + "[0, 4294967296]}").shape());
        assertArrayEquals(new long[0], read(head + "[]}").shape());
    }

    @Test
    void anyNestedFieldMakesTheStateNestedAndThenAllThreeAreRequired() {
        assertEquals(KEY + ": quant_state lacks field 'nested_offset'",
                message("{" + PLAIN + ", \"nested_blocksize\": 256}"));
        assertEquals(KEY + ": quant_state lacks field 'nested_offset'",
                message("{" + PLAIN + ", \"nested_dtype\": \"float32\"}"));
        assertEquals(KEY + ": quant_state lacks field 'nested_blocksize'",
                message("{" + PLAIN + ", \"nested_offset\": 0.5}"));
        assertEquals(KEY + ": quant_state lacks field 'nested_dtype'",
                message("{" + PLAIN + ", \"nested_offset\": 0.5, \"nested_blocksize\": 256}"));
        assertEquals(KEY + ": quant_state nested_offset must be a number, got \"0.5\"",
                message("{" + PLAIN + ", \"nested_offset\": \"0.5\", \"nested_blocksize\": 256, \"nested_dtype\": \"float32\"}"));
        var f = read("{" + PLAIN + ", \"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": 1}");
        assertTrue(f.nested());
        assertEquals(1f, f.nestedOffset());
        assertFalse(read("{" + PLAIN + "}").nested());
    }

    private static BnbJson.Fields read(String json) {
        return BnbJson.read(json.getBytes(StandardCharsets.UTF_8), KEY);
    }

    private static String message(String json) {
        return assertThrows(IllegalArgumentException.class, () -> read(json)).getMessage();
    }
}
