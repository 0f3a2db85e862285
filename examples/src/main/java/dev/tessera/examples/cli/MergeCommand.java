package dev.tessera.examples.cli;

import dev.tessera.core.Device;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.quant.QuantizedModels;
import dev.tessera.nn.io.AtomicFiles;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tessera merge}: folds a LoRA (or IA3) adapter into its base model and writes an HF model
 * folder (4-bit bases are dequantized, merged and requantized, as PEFT does). Tokenizer files
 * are copied along so the folder is usable on its own.
 */
@Command(name = "merge", mixinStandardHelpOptions = true, description = "Merge a LoRA or IA3 adapter into its base model; writes an HF model folder.")
public final class MergeCommand implements Callable<Integer> {
    static final List<String> COMPANIONS = List.of("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
            "special_tokens_map.json", "generation_config.json", "chat_template.jinja");

    @Mixin
    CommonOptions common;

    @Option(names = "--model", required = true, paramLabel = "DIR")
    Path model;

    @Option(names = "--adapter", required = true, paramLabel = "DIR")
    Path adapter;

    @Option(names = "--output", required = true, paramLabel = "DIR")
    Path output;

    @Override
    public Integer call() {
        Device device = common.device();
        if (output.toAbsolutePath().normalize().equals(model.toAbsolutePath().normalize())) {
            throw new TesseraException(output + ": the output folder must differ from the model folder");
        }
        LoadedModel lm = LoadedModel.load(model, adapter, device);
        CausalLM merged = lm.peft.mergeAndUnload();   // the merge's products run on the model's device
        merged.to(Device.CPU);                        // the files are written from host memory
        if (QuantizedModels.quantizedLayers(merged).isEmpty()) {
            merged.save(output);
        } else {
            QuantizedModels.save(merged, output);
        }
        copyCompanions(model, output);
        System.out.println("merged " + adapter + " into " + model + " -> " + output);
        return 0;
    }

    static void copyCompanions(Path from, Path to) {
        for (String name : COMPANIONS) {
            Path src = from.resolve(name);
            if (Files.isRegularFile(src)) {
                // Files.copy leaves the stream open: AtomicFiles forces and closes the channel itself
                AtomicFiles.write(to.resolve(name), channel -> Files.copy(src, Channels.newOutputStream(channel)));
            }
        }
    }
}
