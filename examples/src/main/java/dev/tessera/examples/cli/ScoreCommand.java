package dev.tessera.examples.cli;

import dev.tessera.core.Autograd;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.training.data.Example;
import dev.tessera.training.data.SftDataset;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera score}: one JSON line per data row, {@code {"loss": mean NLL over the row's
 * labelled next-token predictions, "tokens": their count}}, with the same data handling as train.
 */
@Command(name = "score", mixinStandardHelpOptions = true, description = "Per-row loss of a model (and adapter) on a data file, as JSON lines.")
public final class ScoreCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Mixin
    TorchDtypeOption torchDtype;

    @Mixin
    DataFlags data;

    @Mixin
    ModelAndAdapter model;

    @Option(names = "--data", required = true, paramLabel = "FILE")
    Path dataFile;

    @Override
    public Integer call() {
        common.apply();
        LoadedModel lm = model.load(torchDtype, common);
        SftDataset ds = SftDataset.load(dataFile, lm.tokenizer, data.options(lm.tokenizer, model.model, lm.base.config().maxPositions()));
        if (ds.skippedRows() > 0) {
            System.err.println("tessera score: skipped " + ds.skippedRows() + " unreadable rows (lines "
                    + ds.skippedLines().stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(", "))
                    + (ds.skippedRows() > ds.skippedLines().size() ? ", ..." : "") + ")");
        }
        lm.base.eval();
        StringBuilder out = new StringBuilder();
        int rows = ds.examples().size(), done = 0;
        long every = Math.max(1, rows / 20);
        long start = System.nanoTime();
        try (var ng = Autograd.noGrad()) {
            for (Example ex : ds.examples()) {
                if (++done % every == 0 && rows >= 100) {
                    double s = (System.nanoTime() - start) / 1e9;
                    System.err.printf(Locale.ROOT, "score: %d/%d rows, ETA %.0f s%n", done, rows, s / done * (rows - done));
                }
                int targets = ex.targetCount();
                if (targets == 0) {
                    out.append("{\"loss\": null, \"tokens\": 0}\n");
                    continue;
                }
                try (var scope = Scope.open()) {
                    Tensor ids = Tensor.ofInts(ex.inputIds(), 1, ex.length()).to(lm.base.device());
                    Tensor labels = Tensor.ofInts(ex.labels(), 1, ex.length()).to(lm.base.device());
                    float loss = lm.loss(ids, labels).item();
                    out.append(String.format(Locale.ROOT, "{\"loss\": %s, \"tokens\": %d}%n", Float.toString(loss), targets));
                }
                if (out.length() > 1 << 16) {
                    System.out.print(out);
                    out.setLength(0);
                }
            }
        }
        System.out.print(out);
        return 0;
    }
}
