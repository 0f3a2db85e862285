package dev.tessera.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.training.data.Example;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Stands for a kill: thrown from a callback after the step it names. */
    private static final class Interrupted extends RuntimeException {}

    private static TrainingArguments args(Path dir) {
        return new TrainingArguments(dir).learningRate(3e-3).maxSteps(8).batchSize(4).loggingSteps(1).saveSteps(4).progress(false);
    }

    private static Trainer trainer(CausalLM m, TrainingArguments args, List<Example> data) {
        return new Trainer(m, m::loss, m::save, data, List.of(), 0, args, m.dropoutRng());
    }

    private static List<Long> loggedSteps(Path metrics) throws IOException {
        List<Long> steps = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            steps.add(JSON.readTree(line).get("step").asLong());
        }
        return steps;
    }

    private static List<Double> loggedLosses(Path metrics) throws IOException {
        List<Double> losses = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            losses.add(JSON.readTree(line).get("loss").asDouble());
        }
        return losses;
    }

    /** Trains until the callback stops the run after {@code lastStep}: checkpoint-4 exists, metrics.jsonl has lines 1..lastStep. */
    private static void trainAndInterrupt(Path dir, List<Example> data, long lastStep) {
        CausalLM m = TrainerTest.model(11);
        Trainer t = trainer(m, args(dir), data).addCallback(new TrainerCallback() {
            @Override
            public void onStep(long step, double loss) {
                if (step == lastStep) {
                    throw new Interrupted();
                }
            }
        });
        assertThrows(Interrupted.class, t::train);
    }

    @Test
    void aRunInterruptedAfterItsCheckpointAndResumedLogsEachStepOnce(@TempDir Path dir) throws IOException {
        List<Example> data = TrainerTest.data(24, 12);
        Path whole = dir.resolve("whole"), part = dir.resolve("part");
        trainer(TrainerTest.model(11), args(whole), data).train();

        trainAndInterrupt(part, data, 6);
        Path metrics = part.resolve("metrics.jsonl");
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), loggedSteps(metrics));
        // a kill in the middle of a write leaves half a line
        Files.writeString(metrics, "{\"step\": 7, \"epo", StandardOpenOption.APPEND);

        trainer(TrainerTest.model(99), args(part).resumeFromCheckpoint(part.resolve("checkpoint-4")), data).train();
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L), loggedSteps(metrics), "each step once");
        assertEquals(loggedLosses(whole.resolve("metrics.jsonl")), loggedLosses(metrics), "the same losses as the uninterrupted run");
    }

    @Test
    void aTruncatedStateFileIsAOneLineErrorNamingTheFile(@TempDir Path dir) throws IOException {
        trainAndInterrupt(dir, TrainerTest.data(24, 12), 5);
        Path checkpoint = dir.resolve("checkpoint-4"), state = checkpoint.resolve("trainer_state.json");
        String text = Files.readString(state);
        Files.writeString(state, text.substring(0, text.length() / 2));
        TesseraException e = assertThrows(TesseraException.class,
                () -> trainer(TrainerTest.model(99), args(dir).resumeFromCheckpoint(checkpoint), TrainerTest.data(24, 12)).train());
        assertOneLine(e, state.toString(), "not valid JSON");
    }

    @Test
    void anEditedStateFileNamesTheFieldThatIsWrong(@TempDir Path dir) throws IOException {
        trainAndInterrupt(dir, TrainerTest.data(24, 12), 5);
        Path checkpoint = dir.resolve("checkpoint-4"), state = checkpoint.resolve("trainer_state.json");
        String text = Files.readString(state);
        Files.writeString(state, text.replace("\"global_step\"", "\"step\""));
        assertOneLine(assertThrows(TesseraException.class, () -> TrainerState.read(checkpoint)), "\"global_step\" is missing");
        Files.writeString(state, text.replaceFirst("\"position\" : \\d+", "\"position\" : \"x\""));
        assertOneLine(assertThrows(TesseraException.class, () -> TrainerState.read(checkpoint)), "\"position\" is not an integer");
        Files.writeString(state, text.replaceFirst("\"log_history\" : \\[", "\"log_history\" : [ 7, "));
        assertOneLine(assertThrows(TesseraException.class, () -> TrainerState.read(checkpoint)), "log_history[0]");
        Files.writeString(state, "[]");
        assertOneLine(assertThrows(TesseraException.class, () -> TrainerState.read(checkpoint)), "expected a JSON object");
    }

    private static void assertOneLine(TesseraException e, String... parts) {
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' in: " + e.getMessage());
        }
    }

    /** A trainer_state.json as the Trainer wrote it before TrainerState existed (NaN losses as Jackson's "NaN" strings). */
    @Test
    void aStateFileOfEarlierVersionsReads(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("trainer_state.json"), """
                {
                  "global_step" : 2,
                  "epoch" : 0,
                  "position" : 8,
                  "loss_scale" : 65536.0,
                  "good_steps" : 0,
                  "step_losses" : [ 3.5, "NaN" ],
                  "log_history" : [ {
                    "step" : 1, "epoch" : 0.25, "loss" : 3.5, "lr" : 0.001, "grad_norm" : null, "tokens_per_s" : 10.0,
                    "step_s" : 0.1, "peak_rss_bytes" : 1, "peak_live_bytes" : 2, "skipped" : true
                  }, {
                    "step" : 2, "eval_loss" : 3.25
                  } ]
                }""");
        TrainerState s = TrainerState.read(dir);
        assertEquals(2, s.globalStep());
        assertEquals(8, s.position());
        assertNull(s.dropoutRng());
        assertEquals(Map.of(), s.run(), "no run description before it was stored");
        assertTrue(Double.isNaN(s.stepLosses().get(1)));
        MetricsLine.Step step = (MetricsLine.Step) s.logHistory().get(0);
        assertTrue(step.skipped() && Double.isNaN(step.gradNorm()));
        assertEquals(3.25, ((MetricsLine.Eval) s.logHistory().get(1)).evalLoss());
        // written back with the same keys and values
        assertEquals(JSON.readTree(Files.readString(dir.resolve("trainer_state.json"))).get("log_history"),
                JSON.readTree(s.toJson()).get("log_history"));
    }
}
