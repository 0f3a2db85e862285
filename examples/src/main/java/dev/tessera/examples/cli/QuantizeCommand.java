package dev.tessera.examples.cli;

import dev.tessera.examples.Tessera.UsageException;
import dev.tessera.quant.QuantType;
import dev.tessera.quant.QuantizedModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code tessera quantize}: writes an HF folder with bitsandbytes-format 4-bit weights. */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Quantize every linear layer but the output head to 4 bits (bitsandbytes format, as load_in_4bit).")
public final class QuantizeCommand implements Callable<Integer> {
    @Mixin
    CommonOptions common;

    @Option(names = "--model", required = true, paramLabel = "DIR")
    Path model;

    @Option(names = "--output", required = true, paramLabel = "DIR")
    Path output;

    @Option(names = "--quant", required = true, converter = NamedValues.QuantTypes.class, paramLabel = "nf4|fp4")
    QuantType quant;

    @Option(names = "--blocksize", defaultValue = "64", description = "Power of two in 32..4096 (default: ${DEFAULT-VALUE}).")
    int blocksize;

    @Option(names = "--double-quant", description = "Quantize the block scales too (0.127 instead of 0.5 bits per weight).")
    boolean doubleQuant;

    @Override
    public Integer call() {
        common.apply();   // usage errors first; the device is resolved once the paths are checked
        if (blocksize < 32 || blocksize > 4096 || Integer.bitCount(blocksize) != 1) {
            throw new UsageException("--blocksize: expected a power of two in 32..4096, got " + blocksize);
        }
        if (!java.nio.file.Files.isDirectory(model)) {
            throw new dev.tessera.core.TesseraException("--model " + model + ": no such folder");
        }
        if (java.nio.file.Files.exists(output) && !java.nio.file.Files.isDirectory(output)) {
            throw new dev.tessera.core.TesseraException("--output " + output + ": is a file, expected a folder");
        }
        QuantizedModels.FolderSummary summary = QuantizedModels.quantizeFolder(model, output,
                new dev.tessera.quant.BitsAndBytesConfig(quant, blocksize, doubleQuant, dev.tessera.core.DType.F32, null),
                common.device());
        int layers = summary.quantized().size() + summary.kept().size();
        System.err.printf("quantize: %d of %d linear layers to %s; kept in full precision: %s%n", summary.quantized().size(), layers, quant.bnbName(),
                summary.kept().isEmpty() ? "none" : String.join(", ", summary.kept()) + " (the output head and tied weights stay unquantized, as load_in_4bit)");
        var line = JsonOutput.object().put("model", model.toString()).put("output", output.toString())
                .put("layers_quantized", summary.quantized().size());
        summary.kept().forEach(line.putArray("layers_kept")::add);
        line.put("weights_bytes_before", safetensorsBytes(model)).put("weights_bytes_after", safetensorsBytes(output));
        System.out.println(JsonOutput.line(line));
        return 0;
    }

    static long safetensorsBytes(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".safetensors")).mapToLong(f -> f.toFile().length()).sum();
        } catch (IOException e) {
            return -1;
        }
    }
}
