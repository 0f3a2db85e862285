package dev.tessera.training;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tessera.core.Backends;
import dev.tessera.core.CachingAllocator;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MixedPrecisionAndMemoryTest {
    @Test
    void fp16OverflowSkipsTheStepAndHalvesTheScale(@TempDir Path dir) throws Exception {
        CausalLM m = TrainerTest.model(5);
        float[] before = m.namedParameters().values().iterator().next().toFloatArray();
        var args = new TrainingArguments(dir).learningRate(1e-2).maxSteps(1).batchSize(4).loggingSteps(1).progress(false);
        args.fp16(true).fp16InitialLossScale(1e38);            // loss × scale overflows F32: gradients are inf
        new Trainer(m, m::loss, m::save, TrainerTest.data(8, 6), List.of(), 0, args).train();
        var line = new ObjectMapper().readTree(Files.readAllLines(dir.resolve("metrics.jsonl")).get(0));
        assertTrue(line.get("skipped").asBoolean(), line.toString());
        assertArrayEquals(before, m.namedParameters().values().iterator().next().toFloatArray(), "a skipped step changes nothing");
    }

    @Test
    void bf16TrainingStaysCloseToF32(@TempDir Path dir) {
        var f32 = new TrainingArguments(dir.resolve("a")).learningRate(3e-3).maxSteps(5).batchSize(4).progress(false);
        var bf16 = new TrainingArguments(dir.resolve("b")).learningRate(3e-3).maxSteps(5).batchSize(4).progress(false);
        bf16.bf16(true);
        CausalLM a = TrainerTest.model(8), b = TrainerTest.model(8);
        List<Double> la = new Trainer(a, a::loss, a::save, TrainerTest.data(16, 2), List.of(), 0, f32).train().stepLosses();
        List<Double> lb = new Trainer(b, b::loss, b::save, TrainerTest.data(16, 2), List.of(), 0, bf16).train().stepLosses();
        for (int i = 0; i < la.size(); i++) {
            assertEquals(la.get(i), lb.get(i), 0.05, "step " + i);
        }
        assertTrue(!la.equals(lb), "bf16 rounding must change the numbers a little");
    }

    /** Peak live off-heap bytes of one forward + backward. */
    private static long peakBytes(CausalLM model, Tensor ids) {
        CachingAllocator alloc = Backends.cpuAllocator();
        model.zeroGrad();
        alloc.resetPeak();
        long start = alloc.liveBytes();
        try (var scope = Scope.open()) {
            model.loss(ids, ids).backward();
        }
        return alloc.peakLiveBytes() - start;
    }

    @Test
    void gradientCheckpointingLowersPeakMemoryAndKeepsGradients() {
        ModelConfig config = ModelConfig.parse("""
                {"model_type": "gpt2", "vocab_size": 64, "n_positions": 128, "n_embd": 64, "n_layer": 6, "n_head": 4,
                 "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}""", "test");
        CausalLM model = CausalLM.create(config, 3);
        model.requiresGrad(true);
        Tensor ids = new Rng(4).randint(64, 4, 128);
        long plain = peakBytes(model, ids);
        Map<String, float[]> gradsPlain = new java.util.LinkedHashMap<>();
        model.namedParameters().forEach((n, p) -> gradsPlain.put(n, p.grad().toFloatArray()));
        model.setGradientCheckpointing(true);
        long checkpointed = peakBytes(model, ids);
        model.namedParameters().forEach((n, p) -> assertArrayEquals(gradsPlain.get(n), p.grad().toFloatArray(), n));
        System.out.printf("gradient checkpointing: peak %,d -> %,d bytes (%.2fx)%n", plain, checkpointed, (double) checkpointed / plain);
        assertTrue(checkpointed < 0.75 * plain, "peak bytes: plain " + plain + ", checkpointed " + checkpointed);
    }
}
