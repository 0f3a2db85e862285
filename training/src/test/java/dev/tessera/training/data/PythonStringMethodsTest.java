package dev.tessera.training.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Python {@code str} methods chat templates call, rendered through a template. Every
 * expected string is what CPython 3 prints for the same expression.
 */
class PythonStringMethodsTest {

    private static String render(String template, Map<String, Object> bindings) {
        return JinjaTemplate.parse(template).render(bindings);
    }

    private static String render(String template) {
        return render(template, Map.of());
    }

    /** Each part in brackets, so empty parts and spaces show. */
    private static String parts(String expression) {
        return render("{% for p in " + expression + " %}[{{ p }}]{% endfor %}");
    }

    private static String truth(String expression) {
        return render("{% if " + expression + " %}T{% else %}F{% endif %}");
    }

    @Test
    void stripRemovesWhitespaceOrTheGivenCharactersFromTheChosenEnds() {
        Map<String, Object> s = Map.of("s", " \t hi there \n ");
        assertEquals("<hi there>", render("<{{ s.strip() }}>", s));
        assertEquals("<hi there \n >", render("<{{ s.lstrip() }}>", s));
        assertEquals("< \t hi there>", render("<{{ s.rstrip() }}>", s));
        assertEquals("<hi>", render("<{{ 'xyhiyx'.strip('xy') }}>"));
        assertEquals("<hiyx>", render("<{{ 'xyhiyx'.lstrip('xy') }}>"));
        assertEquals("<xyhi>", render("<{{ 'xyhiyx'.rstrip('xy') }}>"));
        assertEquals("<>", render("<{{ '   '.strip() }}>"), "all whitespace strips to nothing");
        assertEquals("<>", render("<{{ 'xxx'.rstrip('x') }}>"));
        assertEquals("<a b>", render("<{{ 'a b'.strip() }}>"), "nothing to strip");
        assertEquals("<hi>", render("<{{ '\u00a0hi\u2003'.strip() }}>"), "no-break and em spaces are spaces to Python");
    }

    @Test
    void startswithAndEndswithTakeOneStringOrSeveral() {
        assertEquals("T", truth("'system'.startswith('sys')"));
        assertEquals("F", truth("'system'.startswith('tem')"));
        assertEquals("T", truth("'system'.endswith('tem')"));
        assertEquals("F", truth("'system'.endswith('sys')"));
        assertEquals("T", truth("'assistant'.startswith(('user', 'ass'))"));
        assertEquals("F", truth("'tool'.startswith(('user', 'ass'))"));
        assertEquals("T", truth("'tool'.endswith(['xx', 'ol'])"));
    }

    @Test
    void caseMethodsFollowPython() {
        assertEquals("HELLO, WORLD", render("{{ 'Hello, World'.upper() }}"));
        assertEquals("hello, world", render("{{ 'Hello, World'.lower() }}"));
        assertEquals("Hello World'S 2Nd", render("{{ \"hELLO wORLD's 2nd\".title() }}"));
        assertEquals("Hello world", render("{{ 'hELLO WORLD'.capitalize() }}"));
        assertEquals("<>", render("<{{ ''.capitalize() }}>"));
    }

    @Test
    void splitWithoutASeparatorDropsEmptyPartsAndWithOneKeepsThem() {
        assertEquals("[a][b][c]", parts("'  a \t b\nc  '.split()"));
        assertEquals("[a][b][c]", parts("'a b c'.split(None)"));
        assertEquals("", parts("'   '.split()"));
        assertEquals("[a][b][][c][]", parts("'a,b,,c,'.split(',')"));
        assertEquals("[][x][y]", parts("'::x::y'.split('::')"));
        assertEquals("[abc]", parts("'abc'.split('-')"));
    }

    @Test
    void replaceAndJoin() {
        assertEquals("a+b+c", render("{{ 'a-b-c'.replace('-', '+') }}"));
        assertEquals("x, y, 3", render("{{ ', '.join(items) }}", Map.of("items", List.of("x", "y", 3))));
        assertEquals("<>", render("<{{ '-'.join(items) }}>", Map.of("items", List.of())));
    }

    @Test
    void otherLookupsFallThroughToJinjava() {
        assertEquals("5", render("{{ s|length }}", Map.of("s", "hello")));
        assertEquals("HI", render("{{ s.upper() }}", Map.of("s", "hi")));
        assertEquals("T", render("{% if m.role.startswith('us') %}T{% else %}F{% endif %}",
                Map.of("m", Map.of("role", "user"))), "a map's value, then a string method");
    }
}
