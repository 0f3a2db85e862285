package dev.tessera.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Autograd;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import dev.tessera.training.data.Batch;
import dev.tessera.training.data.Example;
import dev.tessera.training.optim.OptimizerType;
import dev.tessera.training.optim.SchedulerType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    static final String CONFIG = """
            {"model_type": "gpt2", "vocab_size": 40, "n_positions": 32, "n_embd": 16, "n_layer": 2, "n_head": 2,
             "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "resid_pdrop": 0.0, "embd_pdrop": 0.0,
             "attn_pdrop": 0.0, "bos_token_id": 0, "eos_token_id": 0}""";

    static CausalLM model(long seed) {
        return CausalLM.create(ModelConfig.parse(CONFIG, "test config"), seed);
    }

    /** Sequences counting up modulo 40 from a random start, of varying lengths: easy to learn. */
    static List<Example> data(int n, long seed) {
        Rng rng = new Rng(seed);
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = 6 + (int) Math.floorMod(rng.nextLong(), 6);
            int start = (int) Math.floorMod(rng.nextLong(), 40);
            int[] ids = new int[len];
            for (int t = 0; t < len; t++) {
                ids[t] = (start + t) % 40;
            }
            int[] labels = ids.clone();
            labels[0] = Example.IGNORE_INDEX;
            out.add(new Example(ids, labels));
        }
        return out;
    }

    private static Trainer trainer(CausalLM m, TrainingArguments args, List<Example> train, List<Example> eval) {
        return new Trainer(m, m::loss, m::save, train, eval, 0, args, m.dropoutRng());
    }

    @Test
    void lossFallsAndOutputsAreWritten(@TempDir Path dir) throws Exception {
        CausalLM m = model(1);
        var args = new TrainingArguments(dir).learningRate(1e-2).maxSteps(80).batchSize(4).loggingSteps(5).lrSchedulerType(SchedulerType.CONSTANT).progress(false);
        var result = trainer(m, args, data(32, 2), data(8, 3)).train();
        List<Double> losses = result.stepLosses();
        assertTrue(losses.get(losses.size() - 1) < 0.6 * losses.get(0), "loss " + losses.get(0) + " -> " + losses.get(losses.size() - 1));
        List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
        assertTrue(lines.get(0).contains("\"step\":5") && lines.get(0).contains("\"loss\"") && lines.get(0).contains("\"lr\""), lines.get(0));
        assertTrue(Files.size(dir.resolve("loss.png")) > 1000);
        assertTrue(Files.exists(dir.resolve("model.safetensors")) && Files.exists(dir.resolve("config.json")));
        assertTrue(result.evalLoss() != null && Double.isFinite(result.evalPerplexity()));
    }

    @Test
    void gradientAccumulationEqualsTheLargeBatch() {
        List<Example> examples = data(8, 5);   // uneven lengths: token weighting matters
        CausalLM a = model(7), b = model(7);
        Map<String, Tensor> pa = a.trainableParameters(), pb = b.trainableParameters();
        // one batch of 8
        try (var scope = Scope.open()) {
            Batch big = Batch.collate(examples, 0);
            a.loss(ids(big.inputIds()), ids(big.labels())).backward();
        }
        // two micro-batches of 4, weighted by their labelled tokens as the Trainer does
        long total = Trainer.countTargets(Batch.collate(examples, 0));
        for (int half = 0; half < 2; half++) {
            try (var scope = Scope.open()) {
                Batch micro = Batch.collate(examples.subList(half * 4, half * 4 + 4), 0);
                float w = (float) Trainer.countTargets(micro) / total;
                b.loss(ids(micro.inputIds()), ids(micro.labels())).mul(w).backward();
            }
        }
        for (String name : pa.keySet()) {
            float[] x = pa.get(name).grad().toFloatArray(), y = pb.get(name).grad().toFloatArray();
            for (int i = 0; i < x.length; i++) {
                assertEquals(x[i], y[i], 1e-5 + 1e-4 * Math.abs(x[i]), name + "[" + i + "]");
            }
        }
    }

    static Tensor ids(int[][] rows) {
        int[] flat = new int[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, flat, i * rows[0].length, rows[0].length);
        }
        return Tensor.ofInts(flat, rows.length, rows[0].length);
    }

    @Test
    void resumedRunContinuesWithTheSameLosses(@TempDir Path dir) {
        for (OptimizerType optim : List.of(OptimizerType.ADAMW, OptimizerType.PAGED_ADAMW_8BIT)) {
            Path full = dir.resolve(optim + "-full"), part = dir.resolve(optim + "-part");
            var fullArgs = new TrainingArguments(full).learningRate(3e-3).maxSteps(8).batchSize(4).optim(optim).progress(false);
            List<Double> uninterrupted = trainer(model(11), fullArgs, data(24, 12), List.of()).train().stepLosses();

            var firstArgs = new TrainingArguments(part).learningRate(3e-3).maxSteps(8).batchSize(4).optim(optim).saveSteps(4).progress(false);
            CausalLM first = model(11);
            // stop after the step-4 checkpoint by training a copy to 8 steps, then resume a fresh model from step 4
            trainer(first, firstArgs, data(24, 12), List.of()).train();
            var resumeArgs = new TrainingArguments(part).learningRate(3e-3).maxSteps(8).batchSize(4).optim(optim).progress(false)
                    .resumeFromCheckpoint(part.resolve("checkpoint-4"));
            List<Double> resumed = trainer(model(99), resumeArgs, data(24, 12), List.of()).train().stepLosses();
            double[] u = uninterrupted.stream().mapToDouble(Double::doubleValue).toArray();
            double[] r = resumed.stream().mapToDouble(Double::doubleValue).toArray();
            assertArrayEquals(u, r, 0.0, optim + ": resumed losses " + resumed + " vs " + uninterrupted);
        }
    }

    @Test
    void everyOptimizerRuns(@TempDir Path dir) {
        for (OptimizerType optim : List.of(OptimizerType.SGD, OptimizerType.ADAMW_8BIT, OptimizerType.PAGED_ADAMW)) {
            var args = new TrainingArguments(dir.resolve(optim.toString())).learningRate(1e-2).maxSteps(3).batchSize(4).optim(optim).progress(false);
            var result = trainer(model(3), args, data(12, 4), List.of()).train();
            assertEquals(3, result.steps());
            assertTrue(Double.isFinite(result.finalTrainLoss()), optim.toString());
        }
    }

    @Test
    void fp16LossScalingSkipsOverflowingSteps(@TempDir Path dir) {
        var args = new TrainingArguments(dir).learningRate(1e-3).maxSteps(3).batchSize(4).progress(false);
        args.fp16(true);
        var result = trainer(model(5), args, data(12, 6), List.of()).train();
        assertTrue(Double.isFinite(result.finalTrainLoss()));
        try (var ng = Autograd.noGrad()) {
            assertEquals(3, result.steps());
        }
    }

    @Test
    void pagedOptimizerUnderATightBudgetCompletesAndReportsPagesMoved(@TempDir Path dir) throws Exception {
        // a wider model so some parameters reach the 100,000-value paging threshold
        CausalLM m = CausalLM.create(ModelConfig.parse("""
                {"model_type": "gpt2", "vocab_size": 40, "n_positions": 32, "n_embd": 160, "n_layer": 1, "n_head": 2,
                 "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}""", "test"), 1);
        var args = new TrainingArguments(dir).learningRate(1e-3).maxSteps(3).batchSize(4).loggingSteps(1).optim(OptimizerType.PAGED_ADAMW).progress(false);
        args.pagedFastBudgetBytes(2L << 20);   // two 1 MiB pages, far below the state of c_fc/c_proj (2 × 0.8 MB each)
        var result = trainer(m, args, data(12, 4), List.of()).train();
        assertEquals(3, result.steps());
        var last = new com.fasterxml.jackson.databind.ObjectMapper().readTree(Files.readAllLines(dir.resolve("metrics.jsonl")).get(2));
        assertTrue(last.get("pages_moved").asLong() > 0, last.toString());
        assertTrue(last.get("paged_state_bytes").asLong() > args.pagedFastBudgetBytes(), last.toString());
    }

    @Test
    void liveMemoryStaysFlatAcrossSteps(@TempDir Path dir) {
        for (OptimizerType optim : List.of(OptimizerType.ADAMW, OptimizerType.PAGED_ADAMW_8BIT)) {
            CausalLM m = model(21);
            var args = new TrainingArguments(dir.resolve(optim.toString())).learningRate(1e-3).maxSteps(12).batchSize(4).optim(optim).progress(false);
            List<Long> live = new java.util.ArrayList<>();
            trainer(m, args, data(16, 22), List.of()).addCallback(new TrainerCallback() {
                @Override
                public void onStep(long step, double loss) {
                    live.add(dev.tessera.core.Backends.cpu().liveBytes());
                }
            }).train();
            // after the optimizer state exists (step 2), every step ends with the same live bytes
            for (int i = 2; i < live.size(); i++) {
                assertEquals(live.get(1), live.get(i), optim + ": live bytes after step " + (i + 1) + " vs step 2: " + live);
            }
        }
    }
}
