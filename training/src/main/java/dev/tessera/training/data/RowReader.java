package dev.tessera.training.data;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Reads a data file one row at a time, so files larger than memory stream through:
 * JSON Lines (one object per line), a JSON array of objects (a file whose first character
 * is {@code [}), or a {@code .txt} file (one row per non-blank line).
 *
 * <p>A row that cannot be used is returned with its problem, so the caller may skip it;
 * a JSONL line or a text line is independent of the next one. Broken JSON inside an array
 * leaves nothing to resynchronise on, so it throws.
 */
final class RowReader implements Closeable {

    /** One row: its 1-based line, and either a JSON object, a text line, or the reason it is unusable. */
    record RawRow(long line, JsonNode json, String text, String problem) {
        static RawRow bad(long line, String problem) {
            return new RawRow(line, null, null, problem);
        }
    }

    private enum Layout { JSON_LINES, JSON_ARRAY, TEXT_LINES }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** One JSONL line is one value: anything after it is an error, not the next row. */
    private static final ObjectReader ONE_VALUE =
            JSON.readerFor(JsonNode.class).with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final int PEEK_LIMIT = 1 << 16;

    private final String file;
    private final InputStream in;
    private final Layout layout;
    private final ByteArrayOutputStream lineBytes = new ByteArrayOutputStream();
    private final byte[] buffer = new byte[PEEK_LIMIT];
    private int bufferPos;
    private int bufferEnd;
    private long lineNumber;
    private JsonParser arrayParser;
    private boolean finished;

    private RowReader(String file, InputStream in, Layout layout) {
        this.file = file;
        this.in = in;
        this.layout = layout;
    }

    static RowReader open(Path path) {
        String file = path.toString();
        try {
            InputStream in = new BufferedInputStream(Files.newInputStream(path), PEEK_LIMIT);
            skipByteOrderMark(in);
            Layout layout = path.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".txt")
                    ? Layout.TEXT_LINES
                    : firstNonBlank(in) == '[' ? Layout.JSON_ARRAY : Layout.JSON_LINES;
            return new RowReader(file, in, layout);
        } catch (IOException e) {
            throw new DataException(file, 0, "cannot read: " + describe(e));
        }
    }

    /** Whether rows are text lines rather than JSON objects. */
    boolean isPlainText() {
        return layout == Layout.TEXT_LINES;
    }

    /** The next row, or null at the end of the file. */
    RawRow next() {
        try {
            return switch (layout) {
                case JSON_LINES -> nextJsonLine();
                case JSON_ARRAY -> nextArrayElement();
                case TEXT_LINES -> nextTextLine();
            };
        } catch (UncheckedIOException e) {
            throw new DataException(file, lineNumber, "cannot read: " + describe(e.getCause()));
        }
    }

    private RawRow nextJsonLine() {
        byte[] line = nextNonBlankLine();
        if (line == null) {
            return null;
        }
        try {
            JsonNode node = ONE_VALUE.readValue(line);
            return node.isObject()
                    ? new RawRow(lineNumber, node, null, null)
                    : RawRow.bad(lineNumber, "expected a JSON object, found " + kind(node));
        } catch (IOException e) {
            return RawRow.bad(lineNumber, "invalid JSON: " + describe(e));
        }
    }

    private RawRow nextTextLine() {
        byte[] line = nextNonBlankLine();
        if (line == null) {
            return null;
        }
        try {
            String text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(line))
                    .toString();
            return new RawRow(lineNumber, null, text, null);
        } catch (CharacterCodingException e) {
            return RawRow.bad(lineNumber, "invalid UTF-8");
        }
    }

    /** The next line that is not blank (blank lines separate nothing in JSONL and text files), or null at the end. */
    private byte[] nextNonBlankLine() {
        byte[] line = readLine();
        while (line != null && isBlank(line)) {
            line = readLine();
        }
        return line;
    }

    private RawRow nextArrayElement() {
        if (finished) {
            return null;
        }
        try {
            if (arrayParser == null) {
                arrayParser = JSON.getFactory().createParser(in);
                if (arrayParser.nextToken() != JsonToken.START_ARRAY) {
                    throw new DataException(file, 1, "expected a JSON array of objects");
                }
            }
            JsonToken token = arrayParser.nextToken();
            long line = arrayParser.currentTokenLocation().getLineNr();
            if (token == null) {
                throw new DataException(file, line, "invalid JSON: the array is not closed");
            }
            if (token == JsonToken.END_ARRAY) {
                finished = true;
                if (arrayParser.nextToken() != null) {
                    throw new DataException(file, arrayParser.currentTokenLocation().getLineNr(),
                            "unexpected content after the JSON array");
                }
                return null;
            }
            if (token != JsonToken.START_OBJECT) {
                JsonNode value = JSON.readTree(arrayParser);
                return RawRow.bad(line, "expected a JSON object, found " + kind(value));
            }
            return new RawRow(line, JSON.readTree(arrayParser), null, null);
        } catch (JsonProcessingException e) {
            finished = true;
            long line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            throw new DataException(file, line, "invalid JSON: " + describe(e));
        } catch (IOException e) {
            finished = true;
            throw new DataException(file, 0, "cannot read: " + describe(e));
        }
    }

    /** The next line's bytes without its line break, or null at the end. */
    private byte[] readLine() {
        try {
            lineBytes.reset();
            boolean atEnd = true;
            while (true) {
                if (bufferPos == bufferEnd) {
                    bufferPos = 0;
                    bufferEnd = Math.max(in.read(buffer), 0);
                    if (bufferEnd == 0) {
                        break;
                    }
                }
                atEnd = false;
                int start = bufferPos;
                while (bufferPos < bufferEnd && buffer[bufferPos] != '\n') {
                    bufferPos++;
                }
                lineBytes.write(buffer, start, bufferPos - start);
                if (bufferPos < bufferEnd) {
                    bufferPos++; // the '\n'
                    break;
                }
            }
            if (atEnd) {
                return null;
            }
            lineNumber++;
            byte[] line = lineBytes.toByteArray();
            int n = line.length;
            return n > 0 && line[n - 1] == '\r' ? Arrays.copyOf(line, n - 1) : line;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isBlank(byte[] line) {
        for (byte b : line) {
            if (b != ' ' && b != '\t' && b != '\r') {
                return false;
            }
        }
        return true;
    }

    private static void skipByteOrderMark(InputStream in) throws IOException {
        in.mark(3);
        if (!(in.read() == 0xEF && in.read() == 0xBB && in.read() == 0xBF)) {
            in.reset();
        }
    }

    /** The first byte that is not JSON whitespace, leaving the stream where it was. */
    private static int firstNonBlank(InputStream in) throws IOException {
        in.mark(PEEK_LIMIT);
        try {
            for (int i = 0; i < PEEK_LIMIT; i++) {
                int b = in.read();
                if (b != ' ' && b != '\t' && b != '\r' && b != '\n') {
                    return b;
                }
            }
            return -1;
        } finally {
            in.reset();
        }
    }

    private static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case ARRAY -> "an array";
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case NULL, MISSING -> "null";
            default -> "a " + node.getNodeType().name().toLowerCase(Locale.ROOT);
        };
    }

    /** A one-line description of a read or parse failure, without Jackson's source excerpt. */
    static String describe(Throwable e) {
        String message = e instanceof JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        if (message == null || message.isBlank()) {
            message = e.getClass().getSimpleName();
        }
        return message.length() > 200 ? message.substring(0, 200) + "..." : message;
    }

    @Override
    public void close() {
        try {
            if (arrayParser != null) {
                arrayParser.close();
            }
            in.close();
        } catch (IOException e) {
            throw new DataException(file, 0, "cannot close: " + describe(e));
        }
    }
}
