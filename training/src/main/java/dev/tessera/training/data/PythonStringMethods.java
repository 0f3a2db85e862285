package dev.tessera.training.data;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;
import java.util.function.Predicate;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * The Python {@code str} methods that chat templates call ({@code content.strip()},
 * {@code role.startswith('sys')}, ...), which Jinjava would otherwise look up on
 * {@link String} and not find. Only method calls on strings are resolved here; every
 * other lookup falls through to Jinjava's own resolver.
 */
final class PythonStringMethods extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] args) {
        if (!(base instanceof String s) || !(method instanceof String name)) {
            return null;
        }
        Object[] a = args == null ? new Object[0] : args;
        Object result = switch (name) {
            case "strip" -> a.length == 0 ? stripChars(s, null, true, true) : stripChars(s, str(a[0]), true, true);
            case "lstrip" -> a.length == 0 ? stripChars(s, null, true, false) : stripChars(s, str(a[0]), true, false);
            case "rstrip" -> a.length == 0 ? stripChars(s, null, false, true) : stripChars(s, str(a[0]), false, true);
            case "startswith" -> a.length == 1 ? anyMatch(a[0], s::startsWith) : null;
            case "endswith" -> a.length == 1 ? anyMatch(a[0], s::endsWith) : null;
            case "upper" -> a.length == 0 ? s.toUpperCase(Locale.ROOT) : null;
            case "lower" -> a.length == 0 ? s.toLowerCase(Locale.ROOT) : null;
            case "title" -> a.length == 0 ? title(s) : null;
            case "capitalize" -> a.length == 0 ? capitalize(s) : null;
            case "split" -> a.length == 0 || a[0] == null ? splitWhitespace(s) : a.length == 1 ? split(s, str(a[0])) : null;
            case "replace" -> a.length == 2 ? s.replace(str(a[0]), str(a[1])) : null;
            case "join" -> a.length == 1 && a[0] instanceof Collection<?> items ? join(s, items) : null;
            default -> null;
        };
        if (result != null) {
            context.setPropertyResolved(true);
        }
        return result;
    }

    private static String str(Object o) {
        return o == null ? null : o.toString();
    }

    /** Python's {@code str.isspace} for one char, close enough for templates. */
    private static boolean isSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c);
    }

    private static String stripChars(String s, String chars, boolean left, boolean right) {
        int begin = 0;
        int end = s.length();
        while (left && begin < end && strippable(s.charAt(begin), chars)) {
            begin++;
        }
        while (right && end > begin && strippable(s.charAt(end - 1), chars)) {
            end--;
        }
        return s.substring(begin, end);
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    private static Boolean anyMatch(Object prefixes, Predicate<String> test) {
        if (prefixes instanceof Collection<?> many) {
            return many.stream().anyMatch(p -> test.test(String.valueOf(p)));
        }
        return test.test(String.valueOf(prefixes));
    }

    private static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (char c : s.toCharArray()) {
            out.append(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
            previousCased = Character.isLetter(c);
        }
        return out.toString();
    }

    private static String capitalize(String s) {
        return s.isEmpty() ? s : Character.toTitleCase(s.charAt(0)) + s.substring(1).toLowerCase(Locale.ROOT);
    }

    private static List<String> splitWhitespace(String s) {
        List<String> parts = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            while (i < s.length() && isSpace(s.charAt(i))) {
                i++;
            }
            int start = i;
            while (i < s.length() && !isSpace(s.charAt(i))) {
                i++;
            }
            if (i > start) {
                parts.add(s.substring(start, i));
            }
        }
        return parts;
    }

    private static List<String> split(String s, String separator) {
        if (separator.isEmpty()) {
            return null; // Python raises ValueError("empty separator"); leave it unresolved so Jinjava reports it
        }
        List<String> parts = new ArrayList<>();
        int from = 0;
        for (int at = s.indexOf(separator); at >= 0; at = s.indexOf(separator, from)) {
            parts.add(s.substring(from, at));
            from = at + separator.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    private static String join(String separator, Collection<?> items) {
        StringJoiner out = new StringJoiner(separator);
        items.forEach(item -> out.add(String.valueOf(item)));
        return out.toString();
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
