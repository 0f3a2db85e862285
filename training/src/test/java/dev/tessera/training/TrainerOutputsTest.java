package dev.tessera.training;

import dev.tessera.training.optim.OptimizerType;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.training.data.Example;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a run writes and says: JSON without NaN, the mean train loss, one note from a paged optimizer that pages nothing. */
class TrainerOutputsTest {
    @Test
    void aStepWithNothingLabelledIsLoggedAsNullNotNaN(@TempDir Path dir) throws Exception {
        CausalLM m = TrainerTest.model(1);
        List<Example> unlabelled = new ArrayList<>();
        for (Example e : TrainerTest.data(8, 2)) {
            int[] labels = new int[e.length()];
            Arrays.fill(labels, Example.IGNORE_INDEX);
            unlabelled.add(new Example(e.inputIds(), labels));
        }
        var args = new TrainingArguments(dir).maxSteps(2).batchSize(4).loggingSteps(1).progress(false);
        var result = new Trainer(m, m::loss, m::save, unlabelled, List.of(), 0, args).train();
        String metrics = Files.readString(dir.resolve("metrics.jsonl"));
        assertFalse(metrics.contains("NaN"), metrics);
        JsonNode first = new ObjectMapper().readTree(metrics.lines().findFirst().orElseThrow());
        assertTrue(first.get("loss").isNull(), metrics);
        assertTrue(Double.isNaN(result.trainLoss()));
    }

    @Test
    void trainLossIsTheMeanOverTheRun(@TempDir Path dir) {
        CausalLM m = TrainerTest.model(1);
        var args = new TrainingArguments(dir).learningRate(1e-2).maxSteps(6).batchSize(4).loggingSteps(3).progress(false);
        var result = new Trainer(m, m::loss, m::save, TrainerTest.data(16, 2), List.of(), 0, args).train();
        double mean = result.stepLosses().stream().mapToDouble(Double::doubleValue).average().orElseThrow();
        assertEquals(mean, result.trainLoss(), 1e-12);
        assertEquals(result.stepLosses().get(5), result.finalTrainLoss());
        assertTrue(result.trainLoss() > result.finalTrainLoss(), "the loss fell, so the mean is above the last");
    }

    @Test
    void aPagedOptimizerThatPagesNothingSaysSoOnce(@TempDir Path dir) throws Exception {
        CausalLM m = TrainerTest.model(1); // every tensor far below 100,000 values
        var args = new TrainingArguments(dir).learningRate(1e-3).maxSteps(4).batchSize(4).loggingSteps(1).optim(OptimizerType.PAGED_ADAMW_8BIT).progress(false);
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            new Trainer(m, m::loss, m::save, TrainerTest.data(16, 2), List.of(), 0, args).train();
        } finally {
            System.setErr(old);
        }
        String said = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, said.lines().filter(l -> l.contains("pages nothing")).count(), said);
        assertFalse(Files.readString(dir.resolve("metrics.jsonl")).contains("pages_moved"));
    }
}
