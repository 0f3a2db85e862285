package dev.tessera.examples.notebook;

import dev.tessera.core.Autograd;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.peft.LoraConfig;
import dev.tessera.nn.peft.PeftModel;
import dev.tessera.nn.peft.TargetModules;
import dev.tessera.training.data.Batch;
import dev.tessera.training.data.DataLoader;
import dev.tessera.training.data.Example;
import dev.tessera.training.optim.AdamW;
import dev.tessera.training.optim.ParamGroup;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The notebook's rank comparison: what LoRA's rank r costs and buys. First the trainable
 * parameters of one {@code d × d} weight at each rank ({@code r·(d + d)}, against {@code d²} for
 * the full weight); then, for each rank, LoRA (alpha = 2r, so alpha/r stays the notebook's 16/8)
 * on every linear layer of the same small GPT-2, trained the same number of steps on the
 * training-loop exercise's alternating sequences, with its first and final loss and the held-out
 * loss. The base is randomly initialised (not pre-trained), so the adapter does all the learning.
 *
 * <pre>
 * ./tessera example rank-comparison [--ranks 1,2,4,8,16] [--steps 40] [--d-model 4096]
 * </pre>
 */
public final class RankComparison {
    private RankComparison() {}

    /** One rank's run: trainable and total parameters, the first and the last step's loss, the held-out loss. */
    public record Result(int r, long trainable, long total, double firstLoss, double finalLoss, double evalLoss) {}

    /** Prints both tables; returns the trained runs in the order of {@code ranks}. */
    public static List<Result> run(int[] ranks, int steps, int dModel) {
        long full = (long) dModel * dModel;
        System.out.printf(Locale.ROOT, "LoRA on one %d x %d weight (%,d parameters): trainable r·(in + out)%n", dModel, dModel, full);
        System.out.printf(Locale.ROOT, "%6s %14s %12s%n", "r", "trainable", "of the weight");
        for (int r : ranks) {
            long trainable = (long) r * (dModel + dModel);
            System.out.printf(Locale.ROOT, "%6d %,14d %11.3f%%%n", r, trainable, 100.0 * trainable / full);
        }
        System.out.printf(Locale.ROOT, "%nLoRA on every linear layer of a 1-layer GPT-2 (n_embd 32), alpha = 2r, AdamW lr 1e-2, %d steps of batch 8:%n", steps);
        System.out.printf(Locale.ROOT, "%6s %10s %11s %8s %8s %8s%n", "r", "trainable", "trainable%", "first", "final", "eval");
        List<Result> results = new ArrayList<>();
        for (int r : ranks) {
            Result res = train(r, steps);
            results.add(res);
            System.out.printf(Locale.ROOT, "%6d %,10d %10.2f%% %8.3f %8.3f %8.3f%n", r, res.trainable, 100.0 * res.trainable / res.total,
                    res.firstLoss, res.finalLoss, res.evalLoss);
        }
        return results;
    }

    /** LoRA of rank {@code r} on a fresh copy of the same base, {@code steps} steps; the same data and seeds for every rank. */
    static Result train(int r, int steps) {
        CausalLM base = SimpleTrainingLoop.tinyGpt2(0);
        try {
            PeftModel peft = PeftModel.of(base, LoraConfig.defaults().withR(r).withLoraAlpha(2.0 * r).withLoraDropout(0.0)
                    .withTargetModules(TargetModules.allLinear()));
            long[] counts = peft.trainableParameterCounts();
            DataLoader loader = new DataLoader(SimpleTrainingLoop.alternatingSequences(64, 1), 8, 0, true, 42);
            AdamW optimizer = new AdamW(ParamGroup.all(peft.trainableParameters(), 0.0), 1e-2);
            peft.train(true);
            double first = Double.NaN, last = Double.NaN;
            for (int s = 0; s < steps; s++) {
                Batch batch = loader.next();
                try (var scope = Scope.open()) {
                    Tensor loss = peft.loss(SimpleTrainingLoop.ids(batch.inputIds()), SimpleTrainingLoop.ids(batch.labels()));
                    loss.backward();
                    optimizer.step();
                    optimizer.zeroGrad();
                    last = loss.item();
                    first = s == 0 ? last : first;
                }
            }
            return new Result(r, counts[0], counts[1], first, last, evalLoss(peft));
        } finally {
            base.release();
        }
    }

    /** Mean loss over 16 held-out sequences (a different seed from the training rows). */
    private static double evalLoss(PeftModel peft) {
        List<Example> held = SimpleTrainingLoop.alternatingSequences(16, 7);
        Batch b = Batch.collate(held, 0);
        peft.train(false);
        try (var ng = Autograd.noGrad(); var scope = Scope.open()) {
            return peft.loss(SimpleTrainingLoop.ids(b.inputIds()), SimpleTrainingLoop.ids(b.labels())).item();
        }
    }
}
