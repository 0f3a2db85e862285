package dev.tessera.examples.bench;

import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import java.nio.file.Path;

/**
 * Writes randomly initialised weights (seed 0) for the {@code config.json} in a folder, so
 * benchmarks get a model of a real size where no checkpoint can be downloaded (a GPU machine
 * without network): {@code java ... dev.tessera.examples.bench.RandomModelFolder DIR}.
 */
public final class RandomModelFolder {
    private RandomModelFolder() {}

    public static void main(String[] args) {
        if (args.length != 1) {
            System.err.println("usage: RandomModelFolder DIR (holding config.json)");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        CausalLM.create(ModelConfig.read(dir.resolve("config.json")), 0).save(dir);
    }
}
