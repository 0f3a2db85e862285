package dev.tessera.nn.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** adapter_config.json's text is Python's json.dumps(indent=2, sort_keys=True). */
class PythonJsonTest {
    @Test
    void floatsPrintAsPythonsRepr() {
        assertEquals("0.0", PythonJson.pythonFloat(0));
        assertEquals("8.0", PythonJson.pythonFloat(8));
        assertEquals("0.05", PythonJson.pythonFloat(0.05));
        assertEquals("0.0001", PythonJson.pythonFloat(1e-4));
        assertEquals("1e-05", PythonJson.pythonFloat(1e-5));
        assertEquals("2.5e-07", PythonJson.pythonFloat(2.5e-7));
        assertEquals("1e+16", PythonJson.pythonFloat(1e16));
    }

    @Test
    void objectsSortTheirKeysAndEmptyContainersStayOnOneLine() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("b", List.of("x", "é"));
        m.put("a", Map.of());
        m.put("c", List.of());
        m.put("d", null);
        assertEquals("{\n  \"a\": {},\n  \"b\": [\n    \"x\",\n    \"\\u00e9\"\n  ],\n  \"c\": [],\n  \"d\": null\n}", PythonJson.dumps(m));
    }
}
