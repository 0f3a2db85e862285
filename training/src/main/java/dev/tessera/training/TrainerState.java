package dev.tessera.training;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A checkpoint's {@code trainer_state.json}: where the run stood (step, data position, loss
 * scale, dropout RNG), what it was ({@code run}, see {@link TrainingArguments#runDescription})
 * and what it logged so far. Reading checks every field, so a truncated or edited file is a
 * one-line error naming the file and the field.
 *
 * <pre>{@code
 * TrainerState state = TrainerState.read(Path.of("out/checkpoint-40"));
 * long step = state.globalStep();
 * }</pre>
 *
 * @param dropoutRng the model's dropout generator state (two longs), or null when the run had none
 * @param run        the run description; empty for checkpoints written before it was stored
 */
public record TrainerState(long globalStep, int epoch, int position, double lossScale, long goodSteps, long[] dropoutRng,
                           Map<String, String> run, List<Double> stepLosses, List<MetricsLine> logHistory) {
    /** The file's name inside a checkpoint folder. */
    public static final String FILE = "trainer_state.json";

    private static final ObjectMapper JSON = new ObjectMapper();

    /** Reads {@code checkpointDir/trainer_state.json}. */
    public static TrainerState read(Path checkpointDir) {
        Path file = checkpointDir.resolve(FILE);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file));
        } catch (NoSuchFileException e) {
            throw new TesseraException(checkpointDir + ": not a checkpoint folder (no " + FILE + ")");
        } catch (JacksonException e) {
            throw new TesseraException(file + ": not valid JSON (truncated or edited?): " + e.getOriginalMessage().lines().findFirst().orElse(""));
        } catch (IOException e) {
            throw new TesseraException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(root, file);
    }

    static TrainerState parse(JsonNode root, Path file) {
        Fields f = new Fields(root, file);
        long[] rng = null;
        if (root.has("dropout_rng")) {
            JsonNode r = f.array("dropout_rng");
            if (r.size() != 2 || !r.get(0).isIntegralNumber() || !r.get(1).isIntegralNumber()) {
                throw f.bad("dropout_rng", "two integers");
            }
            rng = new long[] {r.get(0).asLong(), r.get(1).asLong()};
        }
        Map<String, String> run = new LinkedHashMap<>();
        if (root.has("run")) {
            if (!root.get("run").isObject()) {
                throw f.bad("run", "an object");
            }
            root.get("run").properties().forEach(e -> run.put(e.getKey(), e.getValue().asText()));
        }
        List<Double> losses = new ArrayList<>();
        for (JsonNode n : f.array("step_losses")) {
            // a step without labelled tokens has a NaN loss, which Jackson writes as the string "NaN"
            if (!n.isNumber() && !(n.isTextual() && n.asText().equals("NaN"))) {
                throw f.bad("step_losses", "numbers");
            }
            losses.add(n.isNumber() ? n.asDouble() : Double.NaN);
        }
        List<MetricsLine> history = new ArrayList<>();
        JsonNode hist = f.array("log_history");
        for (int i = 0; i < hist.size(); i++) {
            history.add(MetricsLine.fromJson(hist.get(i), file + ": log_history[" + i + "]"));
        }
        return new TrainerState(f.integer("global_step"), (int) f.integer("epoch"), (int) f.integer("position"),
                f.number("loss_scale"), f.integer("good_steps"), rng, run, losses, history);
    }

    /** The JSON written into a checkpoint (the keys of earlier versions, so older readers still resume it). */
    String toJson() {
        ObjectNode json = JSON.createObjectNode();
        json.put("global_step", globalStep);
        json.put("epoch", epoch);
        json.put("position", position);
        json.put("loss_scale", lossScale);
        json.put("good_steps", goodSteps);
        if (dropoutRng != null) {
            json.putArray("dropout_rng").add(dropoutRng[0]).add(dropoutRng[1]);
        }
        ObjectNode r = json.putObject("run");
        run.forEach(r::put);
        ArrayNode losses = json.putArray("step_losses");
        stepLosses.forEach(losses::add);
        ArrayNode hist = json.putArray("log_history");
        logHistory.forEach(l -> hist.add(l.toJson()));
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(json);
        } catch (JacksonException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Typed access to the top-level fields, each failure naming the file and the field. */
    private record Fields(JsonNode root, Path file) {
        Fields {
            if (!root.isObject()) {
                throw new TesseraException(file + ": expected a JSON object, got " + root.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
            }
        }

        long integer(String key) {
            JsonNode v = root.get(key);
            if (v == null || !v.isIntegralNumber()) {
                throw bad(key, "an integer");
            }
            return v.asLong();
        }

        double number(String key) {
            JsonNode v = root.get(key);
            if (v == null || !v.isNumber()) {
                throw bad(key, "a number");
            }
            return v.asDouble();
        }

        JsonNode array(String key) {
            JsonNode v = root.get(key);
            if (v == null || !v.isArray()) {
                throw bad(key, "an array");
            }
            return v;
        }

        TesseraException bad(String key, String expected) {
            return new TesseraException(file + ": \"" + key + "\" " + (root.has(key) ? "is not " : "is missing; expected ") + expected
                    + " (the checkpoint's state is damaged; resume from another checkpoint)");
        }
    }
}
