package dev.tessera.nn.io;

import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;

/** One-line errors of the form {@code <file>: tensor '<name>': <rule broken>}. */
final class IoErrors {
    private static final int MAX_QUOTED_CHARS = 120;

    private IoErrors() {}

    static TesseraException error(Object file, String rule) {
        return new TesseraException(file + ": " + rule);
    }

    static TesseraException error(Object file, String tensor, String rule) {
        return new TesseraException(file + ": tensor " + quote(tensor) + ": " + rule);
    }

    static TesseraException io(Object file, IOException e) {
        String why = switch (e) {
            case NoSuchFileException n -> "no such file";
            case AccessDeniedException a -> "permission denied";
            default -> e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + firstLine(e.getMessage()));
        };
        return new TesseraException(file + ": " + why, e);
    }

    /**
     * A name from a file, quoted for a one-line message: control characters escaped, long names cut,
     * since a hostile header may hold anything.
     */
    static String quote(String name) {
        if (name == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder(Math.min(name.length(), MAX_QUOTED_CHARS) + 2).append('\'');
        for (int i = 0; i < name.length(); i++) {
            if (sb.length() > MAX_QUOTED_CHARS) {
                sb.append("...");
                break;
            }
            char c = name.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('\'').toString();
    }

    static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
