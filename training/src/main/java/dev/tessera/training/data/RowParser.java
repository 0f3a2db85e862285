package dev.tessera.training.data;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** JSON objects to {@link Row}s, by format, with one-line reasons for rows that do not fit. */
final class RowParser {
    private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool");

    private RowParser() {}

    /**
     * The format a row's keys announce: {@code input_ids} → tokens, {@code conversations} →
     * ShareGPT, {@code messages} → messages, {@code instruction} → Alpaca, {@code text} → text.
     */
    static DataFormat detect(JsonNode row) {
        if (row.has("input_ids")) {
            return DataFormat.TOKENS;
        }
        if (row.has("conversations")) {
            return DataFormat.SHAREGPT;
        }
        if (row.has("messages")) {
            return DataFormat.MESSAGES;
        }
        if (row.has("instruction")) {
            return DataFormat.ALPACA;
        }
        if (row.has("text")) {
            return DataFormat.TEXT;
        }
        Set<String> keys = new TreeSet<>();
        row.fieldNames().forEachRemaining(keys::add);
        throw new RowProblem("cannot tell the format from the keys " + keys
                + "; expected input_ids, conversations, messages, instruction or text (or pass --format)");
    }

    static Row parse(DataFormat format, long line, JsonNode row) {
        return switch (format) {
            case ALPACA -> new Row.Alpaca(
                    line, string(row, "instruction"), optionalString(row, "input"), string(row, "output"));
            case SHAREGPT -> new Row.Chat(line, shareGpt(row));
            case MESSAGES -> new Row.Chat(line, messages(row));
            case TOKENS -> tokens(line, row);
            case TEXT -> new Row.Text(line, string(row, "text"));
            case AUTO -> throw new IllegalArgumentException("detect the format first");
        };
    }

    private static String string(JsonNode row, String key) {
        JsonNode value = row.get(key);
        if (value == null || !value.isTextual()) {
            throw new RowProblem("expected \"" + key + "\" to be a string");
        }
        return value.asText();
    }

    private static String optionalString(JsonNode row, String key) {
        JsonNode value = row.get(key);
        if (value == null || value.isNull()) {
            return "";
        }
        if (!value.isTextual()) {
            throw new RowProblem("expected \"" + key + "\" to be a string");
        }
        return value.asText();
    }

    private static List<Message> shareGpt(JsonNode row) {
        return eachTurn(row, "conversations", (turn, i) -> {
            String from = string(turn, "conversations[" + i + "].from", "from");
            String value = string(turn, "conversations[" + i + "].value", "value");
            String role = switch (from) {
                case "human", "user" -> "user";
                case "gpt", "assistant" -> "assistant";
                case "system" -> "system";
                default -> throw new RowProblem(
                        "expected \"conversations[" + i + "].from\" to be \"human\", \"gpt\" or \"system\", found "
                                + quote(from));
            };
            return new Message(role, value);
        });
    }

    private static List<Message> messages(JsonNode row) {
        return eachTurn(row, "messages", (turn, i) -> {
            String role = string(turn, "messages[" + i + "].role", "role");
            if (!ROLES.contains(role)) {
                throw new RowProblem("expected \"messages[" + i
                        + "].role\" to be \"system\", \"user\", \"assistant\" or \"tool\", found " + quote(role));
            }
            return new Message(role, string(turn, "messages[" + i + "].content", "content"));
        });
    }

    /** Reads turn {@code i} (an object) of a conversation. */
    @FunctionalInterface
    private interface TurnReader {
        Message read(JsonNode turn, int i);
    }

    /** The messages of the non-empty array {@code row[key]}, one per turn, in order. */
    private static List<Message> eachTurn(JsonNode row, String key, TurnReader reader) {
        JsonNode turns = nonEmptyArray(row, key);
        List<Message> messages = new ArrayList<>(turns.size());
        for (int i = 0; i < turns.size(); i++) {
            messages.add(reader.read(turn(turns, key, i), i));
        }
        return messages;
    }

    private static Row tokens(long line, JsonNode row) {
        int[] ids = ints(nonEmptyArray(row, "input_ids"), "input_ids", false);
        JsonNode labelsNode = row.get("labels");
        if (labelsNode == null || labelsNode.isNull()) {
            return new Row.Tokens(line, ids, ids.clone());
        }
        if (!labelsNode.isArray()) {
            throw new RowProblem("expected \"labels\" to be an array of integers");
        }
        int[] labels = ints(labelsNode, "labels", true);
        if (labels.length != ids.length) {
            throw new RowProblem("expected \"labels\" to have " + ids.length + " entries like \"input_ids\", found "
                    + labels.length);
        }
        return new Row.Tokens(line, ids, labels);
    }

    private static int[] ints(JsonNode array, String key, boolean allowIgnoreIndex) {
        int[] out = new int[array.size()];
        Iterator<JsonNode> it = array.elements();
        for (int i = 0; it.hasNext(); i++) {
            JsonNode v = it.next();
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw new RowProblem("expected \"" + key + "[" + i + "]\" to be an integer token id");
            }
            int id = v.intValue();
            if (id < 0 && !(allowIgnoreIndex && id == Example.IGNORE_INDEX)) {
                throw new RowProblem("expected \"" + key + "[" + i + "]\" to be a token id >= 0"
                        + (allowIgnoreIndex ? " or -100" : "") + ", found " + id);
            }
            out[i] = id;
        }
        return out;
    }

    private static JsonNode nonEmptyArray(JsonNode row, String key) {
        JsonNode value = row.get(key);
        if (value == null || !value.isArray() || value.isEmpty()) {
            throw new RowProblem("expected \"" + key + "\" to be a non-empty array");
        }
        return value;
    }

    private static JsonNode turn(JsonNode turns, String key, int i) {
        JsonNode turn = turns.get(i);
        if (!turn.isObject()) {
            throw new RowProblem("expected \"" + key + "[" + i + "]\" to be an object");
        }
        return turn;
    }

    private static String string(JsonNode object, String path, String key) {
        JsonNode value = object.get(key);
        if (value == null || !value.isTextual()) {
            throw new RowProblem("expected \"" + path + "\" to be a string");
        }
        return value.asText();
    }

    /** A value from the data, quoted and cut short so the message stays one short line. */
    private static String quote(String value) {
        return "\"" + (value.length() > 40 ? value.substring(0, 40) + "..." : value) + "\"";
    }
}
