package dev.tessera.examples.notebook;

import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import dev.tessera.training.LineChart;
import dev.tessera.training.data.Batch;
import dev.tessera.training.data.DataLoader;
import dev.tessera.training.data.Example;
import dev.tessera.training.optim.AdamW;
import dev.tessera.training.optim.ParamGroup;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The notebook's "simple training loop" exercise with the library directly, no Trainer: a
 * DataLoader-style batching iterator, AdamW over the trainable parameters only, the mean loss
 * per epoch printed, and the curve drawn as a PNG.
 *
 * <pre>
 * ./tessera example training-loop [--epochs 5] [--output runs/notebook/simple-loop-loss.png]
 * </pre>
 */
public final class SimpleTrainingLoop {
    private SimpleTrainingLoop() {}

    /** Trains for {@code epochs}, printing each epoch's mean loss, and draws the curve into {@code png}. */
    public static void run(int epochs, Path png) {
        List<Double> perEpoch = train(epochs);
        double[] x = new double[perEpoch.size()], y = new double[perEpoch.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = i + 1;
            y[i] = perEpoch.get(i);
        }
        new LineChart("Simple training loop", "epoch", "mean loss").series("train", x, y).writePng(png);
        System.out.println("loss curve: " + png);
    }

    /** Trains a tiny GPT-2 to continue alternating sequences; returns the mean loss of each epoch. */
    public static List<Double> train(int epochs) {
        // 1. a model and data: sequences a, b, a, b, ... over a 32-token vocabulary
        CausalLM model = tinyGpt2(0);
        List<Example> data = alternatingSequences(64, 1);

        // 2. batches of 8, reshuffled every epoch; AdamW over trainable parameters only
        DataLoader loader = new DataLoader(data, 8, 0, true, 42);
        AdamW optimizer = new AdamW(ParamGroup.all(model.trainableParameters(), 0.01), 1e-2);

        // 3. the loop: forward, loss, backward, step, zero grad
        List<Double> perEpoch = new ArrayList<>();
        model.train();
        for (int epoch = 0; epoch < epochs; epoch++) {
            double sum = 0;
            for (int b = 0; b < loader.batchesPerEpoch(); b++) {
                Batch batch = loader.next();
                try (var scope = Scope.open()) {
                    Tensor ids = ids(batch.inputIds()), labels = ids(batch.labels());
                    Tensor loss = model.loss(ids, labels);
                    loss.backward();
                    optimizer.step();
                    optimizer.zeroGrad();
                    sum += loss.item();
                }
            }
            double mean = sum / loader.batchesPerEpoch();
            perEpoch.add(mean);
            System.out.printf(Locale.ROOT, "epoch %d: mean loss %.4f%n", epoch + 1, mean);
        }
        return perEpoch;
    }

    /** A one-layer GPT-2, 32 wide, over a 32-token vocabulary, without dropout. */
    static CausalLM tinyGpt2(long seed) {
        return CausalLM.create(ModelConfig.parse("""
                {"model_type": "gpt2", "vocab_size": 32, "n_positions": 32, "n_embd": 32, "n_layer": 1, "n_head": 2,
                 "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}""", "simple loop config"), seed);
    }

    /** {@code n} rows a, b, a, b, ... of 12 tokens, a and b drawn from {@code seed}. */
    static List<Example> alternatingSequences(int n, long seed) {
        Rng rng = new Rng(seed);
        List<Example> data = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int a = (int) Math.floorMod(rng.nextLong(), 32), b = (int) Math.floorMod(rng.nextLong(), 32);
            int[] ids = new int[12];
            for (int t = 0; t < ids.length; t++) {
                ids[t] = t % 2 == 0 ? a : b;
            }
            data.add(new Example(ids, ids.clone()));
        }
        return data;
    }

    static Tensor ids(int[][] rows) {
        int[] flat = new int[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, flat, i * rows[0].length, rows[0].length);
        }
        return Tensor.ofInts(flat, rows.length, rows[0].length);
    }
}
