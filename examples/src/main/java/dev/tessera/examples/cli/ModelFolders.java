package dev.tessera.examples.cli;

import dev.tessera.nn.models.CausalLM;
import dev.tessera.quant.QuantizedModels;
import java.nio.file.Path;

/** Loads a model folder for the CLI: plain Hugging Face or bitsandbytes 4-bit. */
final class ModelFolders {
    private ModelFolders() {}

    static CausalLM load(Path dir) {
        return QuantizedModels.load(dir);
    }
}
