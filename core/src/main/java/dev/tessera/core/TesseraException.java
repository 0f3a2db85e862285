package dev.tessera.core;

/**
 * The one error type for bad input and misuse: its message is a single line that names the
 * file, tensor or argument and what was expected, so the CLI can print it as is.
 */
public class TesseraException extends RuntimeException {
    public TesseraException(String message) {
        super(message);
    }

    public TesseraException(String message, Throwable cause) {
        super(message, cause);
    }
}
