package dev.tessera.training.data;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import java.util.List;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * A Jinja chat template, parsed once and rendered the way transformers'
 * {@code apply_chat_template} does: {@code trim_blocks} and {@code lstrip_blocks} on, one
 * trailing newline of the source dropped, Python operator precedence and {@code {{- -}}}
 * trimming, Python {@code str} methods on strings, and a {@code raise_exception(message)}
 * function.
 *
 * <p>Known differences from jinja2 that chat templates rarely meet: {@code None} prints as
 * an empty string and booleans as {@code true}/{@code false}; {@code tojson} is Jinjava's
 * (compact, no spaces after separators).
 */
final class JinjaTemplate {
    private static final Jinjava JINJAVA = create();

    private final Node root;

    private JinjaTemplate(Node root) {
        this.root = root;
    }

    /** @throws IllegalArgumentException when the source is not a valid template */
    static JinjaTemplate parse(String source) {
        JinjavaInterpreter parser = JINJAVA.newInterpreter();
        Node root;
        try {
            root = parser.parse(withoutTrailingNewline(source));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("chat template: " + RowReader.describe(e), e);
        }
        failOnFatal(parser.getErrors());
        return new JinjaTemplate(root);
    }

    /**
     * Renders the template with {@code bindings}.
     *
     * @throws IllegalArgumentException with the template's own message when it calls
     *     {@code raise_exception}, or Jinjava's when it cannot be rendered
     */
    String render(Map<String, Object> bindings) {
        JinjavaInterpreter interpreter = new JinjavaInterpreter(
                JINJAVA, new Context(JINJAVA.getGlobalContext(), bindings), JINJAVA.getGlobalConfig());
        String output;
        // Functions such as raise_exception find their interpreter as the thread's current one.
        try (var current = JinjavaInterpreter.closeablePushCurrent(interpreter).get()) {
            output = current.value().render(root, false);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("chat template: " + RowReader.describe(e), e);
        }
        failOnFatal(interpreter.getErrors());
        return output;
    }

    /** The function behind {@code raise_exception(message)}; public for Jinjava's reflection. */
    public static Object raiseException(Object message) {
        throw new Raised(String.valueOf(message));
    }

    private static void failOnFatal(List<TemplateError> errors) {
        for (TemplateError error : errors) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw new IllegalArgumentException("chat template: " + describe(error));
            }
        }
    }

    private static String describe(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof Raised raised) {
                return raised.getMessage();
            }
        }
        return error.getMessage() + (error.getLineno() > 0 ? " (template line " + error.getLineno() + ")" : "");
    }

    /**
     * jinja2 ({@code keep_trailing_newline=False}) drops one newline from the end of the
     * template source; Jinjava's option of that name acts on the output instead.
     */
    private static String withoutTrailingNewline(String source) {
        if (source.endsWith("\r\n")) {
            return source.substring(0, source.length() - 2);
        }
        return source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
    }

    private static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withKeepTrailingNewline(true)
                .withElResolver(resolver)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withUsePyishObjectMapper(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.registerFunction(new ELFunctionDefinition(
                "", "raise_exception", JinjaTemplate.class, "raiseException", Object.class));
        return jinjava;
    }

    /** What {@code raise_exception} throws; carries the template's message out of Jinjava. */
    private static final class Raised extends RuntimeException {
        Raised(String message) {
            super(message, null, false, false);
        }
    }
}
