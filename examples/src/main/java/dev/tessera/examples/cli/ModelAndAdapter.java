package dev.tessera.examples.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --model DIR [--adapter DIR]}: the frozen model a command runs, with an optional PEFT adapter on it (score, generate). */
final class ModelAndAdapter {
    @Option(names = "--model", required = true, paramLabel = "DIR")
    Path model;

    @Option(names = "--adapter", paramLabel = "DIR", description = "A PEFT adapter folder to apply.")
    Path adapter;

    /** Loads the model (frozen weights at {@code torchDtype}) and the adapter onto the device {@code common} names. */
    LoadedModel load(TorchDtypeOption torchDtype, CommonOptions common) {
        return LoadedModel.loadFrozen(model, adapter, torchDtype.dtype(), common.device());
    }
}
