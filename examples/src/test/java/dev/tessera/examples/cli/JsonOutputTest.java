package dev.tessera.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class JsonOutputTest {
    @Test
    void oneLineInTheClisSpacingWithNullForNaNAndEscapedStrings() {
        var o = JsonOutput.object().put("steps", 3).put("output", "a \"b\"\\c");
        JsonOutput.putNumber(o, "loss", Double.NaN);
        JsonOutput.putNumber(o, "lr", 0.5);
        o.putArray("kept");
        o.putArray("layers").add("x").add("y");
        assertEquals("{\"steps\": 3, \"output\": \"a \\\"b\\\"\\\\c\", \"loss\": null, \"lr\": 0.5, \"kept\": [], \"layers\": [\"x\", \"y\"]}",
                JsonOutput.line(o));
    }
}
