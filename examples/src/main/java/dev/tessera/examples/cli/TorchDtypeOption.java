package dev.tessera.examples.cli;

import dev.tessera.core.DType;
import dev.tessera.examples.Tessera.UsageException;
import picocli.CommandLine.Option;

/** {@code --torch-dtype}: the width frozen weights keep in memory, as transformers' {@code from_pretrained(torch_dtype=...)}. */
public final class TorchDtypeOption {
    @Option(names = "--torch-dtype", defaultValue = "auto", paramLabel = "auto|bfloat16|float16|float32",
            description = "Width of frozen weights in memory; auto keeps the checkpoint's (default: ${DEFAULT-VALUE}). "
                    + "Trained weights are always float32.")
    String torchDtype;

    /** The dtype, or null for auto (as stored). */
    DType dtype() {
        return switch (torchDtype) {
            case "auto" -> null;
            case "bfloat16", "bf16" -> DType.BF16;
            case "float16", "fp16", "half" -> DType.F16;
            case "float32", "fp32", "float" -> DType.F32;
            default -> throw new UsageException("--torch-dtype: expected auto, bfloat16, float16 or float32, got '" + torchDtype + "'");
        };
    }
}
