package dev.tessera.training;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Collective;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.training.data.DataLoader;
import dev.tessera.training.data.Example;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Trainer's data-parallel semantics (PyTorch DDP), with ranks as threads of this JVM
 * ({@link ThreadRanks}), so they hold without Open MPI; the examples module's DataParallelTest
 * runs the same over mpirun.
 */
class DataParallelTrainerTest {

    /** Runs {@code body} for ranks 0..n-1 on n threads and returns their results in rank order. */
    static <T> List<T> onRanks(int n, IntFunction<T> body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                int rank = r;
                futures.add(pool.submit(() -> body.apply(rank)));
            }
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    static TrainingArguments args(Path dir, int batchSize) {
        // lr 1e-3: Adam turns round-off in near-zero gradients into steps of about lr, which the 1e-6 tolerance must absorb
        return new TrainingArguments(dir).learningRate(1e-3).maxSteps(6).batchSize(batchSize).loggingSteps(1)
                .gradientAccumulationSteps(2).maxGradNorm(0.5).progress(false);
    }

    @Test
    void twoRanksOfBatchTwoTrainAsOneProcessOfBatchFourAndOnlyRankZeroWrites(@TempDir Path dir) throws Exception {
        List<Example> data = TrainerTest.data(30, 11); // uneven lengths: the token weighting matters
        CausalLM single = TrainerTest.model(3);
        Trainer.TrainingResult expected = new Trainer(single, single::loss, single::save, data, data.subList(0, 7), 0,
                args(dir.resolve("one"), 4)).train();
        ThreadRanks job = new ThreadRanks(2);
        List<Trainer.TrainingResult> ranks = onRanks(2, r -> {
            CausalLM m = TrainerTest.model(r == 0 ? 3 : 99); // rank 1 starts elsewhere: rank 0's weights are broadcast
            Trainer.TrainingResult result = new Trainer(m, m::loss, m::save, data, data.subList(0, 7), 0, args(dir.resolve("two"), 2))
                    .distributed(job.rank(r)).train();
            if (r == 0) {
                assertSameWeights(single.trainableParameters(), m.trainableParameters(), 1e-6);
            }
            return result;
        });
        for (Trainer.TrainingResult result : ranks) {
            for (int i = 0; i < expected.stepLosses().size(); i++) {
                double want = expected.stepLosses().get(i);
                assertEquals(want, result.stepLosses().get(i), 1e-5 * Math.abs(want), "loss at step " + (i + 1));
            }
            assertEquals(expected.evalLoss(), result.evalLoss(), 1e-5 * expected.evalLoss(), "eval loss, sharded over the ranks");
        }
        assertEquals(6, Files.readAllLines(dir.resolve("two/metrics.jsonl")).stream().filter(l -> l.contains("\"loss\"")).count(),
                "one metrics line per step, from rank 0 alone");
    }

    @Test
    void everyExampleIsSeenOncePerEpochAcrossTheRanks() throws Exception {
        List<Example> data = new ArrayList<>(); // the first token names the example; lengths 2..4
        for (int i = 0; i < 13; i++) {
            int[] ids = new int[2 + i % 3];
            ids[0] = i + 1;
            data.add(new Example(ids, ids.clone()));
        }
        ThreadRanks job = new ThreadRanks(2);
        // 13 = 3 global batches of 2 ranks x 2 + 1: the last batch leaves rank 0 none and rank 1 one example
        List<List<Integer>> seen = onRanks(2, r -> {
            DataParallel dp = new DataParallel(job.rank(r));
            DataLoader loader = new DataLoader(data, 2 * 2, 0, true, 42);
            List<Integer> mine = new ArrayList<>();
            for (int b = 0; b < 4; b++) {
                for (int[] row : dp.nextBatch(loader, 0).inputIds()) {
                    mine.add(row[0]);
                }
            }
            return mine;
        });
        List<Integer> all = new ArrayList<>(seen.get(0));
        all.addAll(seen.get(1));
        assertEquals(13, all.size());
        assertEquals(13, new HashSet<>(all).size(), "no example twice: " + seen);
        assertEquals(6, seen.get(0).size(), "rank 0: 2 + 2 + 2 + 0");
    }

    @Test
    void gradientsAreSummedInBucketsIncludingOneLargerThanABucketAndOneMissingOnARank() throws Exception {
        ThreadRanks job = new ThreadRanks(2);
        int[][] shapes = {{3, 4}, {5}, {40}, {2, 2}, {7}}; // bucket of 16 values: {40} is reduced on its own
        List<float[][]> grads = onRanks(2, r -> {
            DataParallel dp = new DataParallel(job.rank(r), 16);
            List<Tensor> params = new ArrayList<>();
            for (int i = 0; i < shapes.length; i++) {
                int[] shape = shapes[i];
                Tensor p = Scope.unowned(() -> Tensor.zeros(DType.F32, Device.CPU, shape));
                if (!(r == 1 && i == 3)) { // rank 1 got no gradient for parameter 3
                    int n = (int) p.numel();
                    float[] g = new float[n];
                    for (int k = 0; k < n; k++) {
                        g[k] = (r + 1) * 1000 + i * 100 + k;
                    }
                    p.setGrad(Scope.unowned(() -> Tensor.of(g, p.shape())));
                }
                params.add(p);
            }
            dp.allReduceGradients(params);
            dp.release();
            float[][] out = new float[params.size()][];
            for (int i = 0; i < params.size(); i++) {
                out[i] = params.get(i).grad().toFloatArray();
            }
            return out;
        });
        for (int i = 0; i < shapes.length; i++) {
            for (int k = 0; k < grads.get(0)[i].length; k++) {
                float want = i == 3 ? 1000 + i * 100 + k : 1000 + 2000 + 2 * (i * 100 + k);
                assertEquals(want, grads.get(0)[i][k], "parameter " + i + " value " + k);
                assertEquals(want, grads.get(1)[i][k], "rank 1, parameter " + i + " value " + k);
            }
        }
        // buckets of 16 values: [12] (the 5 does not fit after it), the 40 on its own, then [5, 4, 7]
        assertEquals(3, job.collectives);
    }

    @Test
    void ranksWithDifferentParametersAreToldSo() throws Exception {
        ThreadRanks job = new ThreadRanks(2);
        List<String> errors = onRanks(2, r -> {
            Map<String, Tensor> params = new LinkedHashMap<>();
            params.put("w", Scope.unowned(() -> Tensor.zeros(DType.F32, Device.CPU, r == 0 ? 4 : 5)));
            return assertThrows(TesseraException.class, () -> new DataParallel(job.rank(r)).broadcastWeights(params)).getMessage();
        });
        assertTrue(errors.get(1).contains("different trainable parameters"), errors.get(1));
    }

    @Test
    void oneProcessLeavesTheBatchesAndGradientsAsTheyAre() {
        DataParallel dp = new DataParallel(Collective.singleProcess());
        assertFalse(dp.distributed());
        List<Example> data = TrainerTest.data(9, 2);
        DataLoader a = new DataLoader(data, 4, 0, true, 1), b = new DataLoader(data, 4, 0, true, 1);
        for (int i = 0; i < 5; i++) {
            assertTrue(Arrays.deepEquals(a.next().inputIds(), dp.nextBatch(b, 0).inputIds()), "batch " + i);
        }
        double[] v = {1.5, 2};
        assertSame(v, dp.sum(v));
        assertEquals(1.5, v[0]);
    }

    static void assertSameWeights(Map<String, Tensor> a, Map<String, Tensor> b, double tolerance) {
        for (var e : a.entrySet()) {
            float[] x = e.getValue().toFloatArray(), y = b.get(e.getKey()).toFloatArray();
            for (int i = 0; i < x.length; i++) {
                assertEquals(x[i], y[i], tolerance, e.getKey() + "[" + i + "]");
            }
        }
    }
}
