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

    @Option(names = "--quant", required = true, paramLabel = "nf4|fp4")
    String quant;

    @Option(names = "--blocksize", defaultValue = "64", description = "Power of two in 32..4096 (default: ${DEFAULT-VALUE}).")
    int blocksize;

    @Option(names = "--double-quant", description = "Quantize the block scales too (0.127 instead of 0.5 bits per weight).")
    boolean doubleQuant;

    @Override
    public Integer call() {
        common.apply();
        QuantType type = switch (quant) {
            case "nf4" -> QuantType.NF4;
            case "fp4" -> QuantType.FP4;
            default -> throw new UsageException("--quant: expected nf4 or fp4, got '" + quant + "'");
        };
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
                new dev.tessera.quant.BitsAndBytesConfig(type, blocksize, doubleQuant, dev.tessera.core.DType.F32, null));
        int layers = summary.quantized().size() + summary.kept().size();
        System.err.printf("quantize: %d of %d linear layers to %s; kept in full precision: %s%n", summary.quantized().size(), layers, quant,
                summary.kept().isEmpty() ? "none" : String.join(", ", summary.kept()) + " (the output head and tied weights stay unquantized, as load_in_4bit)");
        System.out.printf("{\"model\": \"%s\", \"output\": \"%s\", \"layers_quantized\": %d, \"layers_kept\": [%s], "
                        + "\"weights_bytes_before\": %d, \"weights_bytes_after\": %d}%n",
                esc(model), esc(output), summary.quantized().size(),
                String.join(", ", summary.kept().stream().map(k -> "\"" + k + "\"").toList()), safetensorsBytes(model), safetensorsBytes(output));
        return 0;
    }

    private static String esc(Path p) {
        return p.toString().replace("\\", "\\\\").replace("\"", "\\\"");
    }

    static long safetensorsBytes(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.toString().endsWith(".safetensors")).mapToLong(f -> f.toFile().length()).sum();
        } catch (IOException e) {
            return -1;
        }
    }
}
