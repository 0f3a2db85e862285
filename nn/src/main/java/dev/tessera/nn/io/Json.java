package dev.tessera.nn.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The one strict JSON reader: duplicate keys and anything after the top-level value are errors
 * (as in serde_json and Python's json with object_pairs_hook checks), so an edited or truncated
 * file fails with one line naming it. Writing JSON as Python does is {@link PythonJson}.
 *
 * <pre>{@code
 * ObjectNode config = Json.readObject(Path.of("models/gpt2/config.json"));
 * // models/gpt2/config.json: not valid JSON at line 3, column 5: Duplicate field 'n_embd'
 * }</pre>
 */
public final class Json {
    private static final JsonMapper MAPPER = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private Json() {}

    /** Parses {@code text}; Jackson's exception for the caller to word (see {@link #describe}). */
    public static JsonNode parse(String text) throws JsonProcessingException {
        return MAPPER.readTree(text);
    }

    /** Parses {@code text}, which must hold an object; errors are one line starting with {@code source}. */
    public static ObjectNode parseObject(String text, Object source) {
        JsonNode node;
        try {
            node = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            var at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new TesseraException(source + ": not valid JSON" + where + ": " + oneLine(e.getOriginalMessage()));
        }
        if (node == null || !node.isObject()) {
            throw new TesseraException(source + ": expected a JSON object");
        }
        return (ObjectNode) node;
    }

    /** Reads and parses {@code file}, which must hold an object; errors name the file. */
    public static ObjectNode readObject(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new TesseraException(file + ": cannot read: " + oneLine(String.valueOf(e.getMessage())), e);
        }
        return parseObject(text, file);
    }

    /** Decodes UTF-8, rejecting malformed input instead of replacing it. */
    static String utf8(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT)
                .decode(ByteBuffer.wrap(bytes))
                .toString();
    }

    /** A one-line description of a parse error, without Jackson's source excerpt. */
    public static String describe(JsonProcessingException e) {
        String what = IoErrors.firstLine(String.valueOf(e.getOriginalMessage()));
        int sourceNote = what.indexOf(" (start marker at");
        if (sourceNote > 0) {
            what = what.substring(0, sourceNote);
        }
        return what + (e.getLocation() == null ? "" : " at character " + e.getLocation().getCharOffset());
    }

    /** Whitespace runs folded to one space, cut at 120 characters: fit for a one-line error. */
    public static String oneLine(String message) {
        if (message == null) {
            return "";
        }
        String s = message.replaceAll("\\s+", " ").strip();
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
