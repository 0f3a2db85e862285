package dev.tessera.training;

import dev.tessera.training.optim.SchedulerType;
import dev.tessera.training.optim.OptimizerType;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.training.data.Batch;
import dev.tessera.training.data.Example;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training on packed rows (several examples per row) is training on the examples themselves. */
class PackingTrainerTest {

    /** Examples back to back in rows of up to {@code maxLength} tokens, every example's first label -100 (as the data's packing does). */
    static List<Example> pack(List<Example> examples, int maxLength) {
        List<Example> rows = new ArrayList<>();
        List<Example> open = new ArrayList<>();
        int used = 0;
        for (Example e : examples) {
            if (used + e.length() > maxLength) {
                rows.add(concatenate(open));
                open.clear();
                used = 0;
            }
            open.add(e);
            used += e.length();
        }
        rows.add(concatenate(open));
        return rows;
    }

    private static Example concatenate(List<Example> parts) {
        int total = parts.stream().mapToInt(Example::length).sum();
        int[] ids = new int[total], labels = new int[total], lengths = new int[parts.size()];
        int at = 0;
        for (int i = 0; i < parts.size(); i++) {
            Example part = parts.get(i);
            System.arraycopy(part.inputIds(), 0, ids, at, part.length());
            System.arraycopy(part.labels(), 0, labels, at, part.length());
            labels[at] = Example.IGNORE_INDEX;
            lengths[i] = part.length();
            at += part.length();
        }
        return new Example(ids, labels, lengths);
    }

    private static Trainer trainer(CausalLM m, TrainingArguments args, List<Example> train, List<Example> eval) {
        return new Trainer(m, Trainer.LossFunction.withPacking(m::loss, m::loss), m::save, train, eval, 0, args, m.dropoutRng());
    }

    @Test
    void packedRowsAreRecognised() {
        List<Example> examples = TrainerTest.data(6, 1);
        assertTrue(Trainer.isPacked(Batch.collate(pack(examples, 32), 0)));
        assertFalse(Trainer.isPacked(Batch.collate(examples, 0)));
    }

    @Test
    void lossFallsWhenTrainingOnPackedRows(@TempDir Path dir) {
        List<Example> rows = pack(TrainerTest.data(48, 2), 32);
        assertTrue(rows.size() < 24, rows.size() + " rows"); // several examples per row
        var args = new TrainingArguments(dir).learningRate(1e-2).maxSteps(60).batchSize(2).loggingSteps(10)
                .lrSchedulerType(SchedulerType.CONSTANT).progress(false);
        var result = trainer(TrainerTest.model(1), args, rows, pack(TrainerTest.data(8, 3), 32)).train();
        List<Double> losses = result.stepLosses();
        assertTrue(losses.get(losses.size() - 1) < 0.6 * losses.get(0), "loss " + losses.get(0) + " -> " + losses.get(losses.size() - 1));
        assertTrue(result.evalLoss() != null && Double.isFinite(result.evalLoss()));
    }

    @Test
    void oneStepOnPackedRowsMovesTheWeightsAsTheUnpackedBatch(@TempDir Path dir) {
        List<Example> examples = TrainerTest.data(8, 5); // uneven lengths: token weighting matters
        List<Example> rows = pack(examples, 24);
        assertTrue(rows.size() >= 2 && rows.size() < examples.size(), rows.size() + " rows");
        CausalLM unpacked = TrainerTest.model(7), packed = TrainerTest.model(7);
        Map<String, float[]> before = values(unpacked);
        // plain SGD with lr 1 and no clipping: each weight moves by exactly minus its gradient
        var plainArgs = new TrainingArguments(dir.resolve("plain")).optim(OptimizerType.SGD).learningRate(1).maxGradNorm(0).weightDecay(0)
                .lrSchedulerType(SchedulerType.CONSTANT).shuffle(false).maxSteps(1).batchSize(examples.size()).progress(false);
        trainer(unpacked, plainArgs, examples, List.of()).train();
        // one packed row per micro-batch: the accumulation's token weighting is exercised too
        var packedArgs = new TrainingArguments(dir.resolve("packed")).optim(OptimizerType.SGD).learningRate(1).maxGradNorm(0).weightDecay(0)
                .lrSchedulerType(SchedulerType.CONSTANT).shuffle(false).maxSteps(1).batchSize(1).gradientAccumulationSteps(rows.size()).progress(false);
        trainer(packed, packedArgs, rows, List.of()).train();

        Map<String, float[]> a = values(unpacked), b = values(packed);
        double moved = 0;
        for (String name : a.keySet()) {
            float[] x = a.get(name), y = b.get(name), x0 = before.get(name);
            for (int i = 0; i < x.length; i++) {
                moved = Math.max(moved, Math.abs(x[i] - x0[i]));
                assertEquals(x[i] - x0[i], y[i] - x0[i], 1e-5 + 1e-4 * Math.abs(x[i] - x0[i]), name + "[" + i + "]");
            }
        }
        assertTrue(moved > 1e-3, "the step moved no weight (" + moved + ")");
    }

    @Test
    void evaluatingPackedRowsGivesTheUnpackedLoss(@TempDir Path dir) {
        CausalLM m = TrainerTest.model(4);
        List<Example> eval = TrainerTest.data(10, 8);
        var args = new TrainingArguments(dir).progress(false);
        double plain = trainer(m, args, eval, eval).evaluate();
        double packed = trainer(m, args, eval, pack(eval, 32)).evaluate();
        assertEquals(plain, packed, 1e-5);
    }

    @Test
    void aLossFunctionWithoutPackingIsRefusedClearly(@TempDir Path dir) {
        CausalLM m = TrainerTest.model(2);
        var args = new TrainingArguments(dir).maxSteps(1).batchSize(2).progress(false);
        var trainer = new Trainer(m, m::loss, m::save, pack(TrainerTest.data(8, 1), 32), List.of(), 0, args, m.dropoutRng());
        var e = assertThrows(TesseraException.class, trainer::train);
        assertTrue(e.getMessage().contains("does not support packing"), e.getMessage());
    }

    private static Map<String, float[]> values(CausalLM m) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        for (var e : m.namedParameters().entrySet()) {
            Tensor t = e.getValue();
            out.put(e.getKey(), t.toFloatArray());
        }
        return out;
    }
}
