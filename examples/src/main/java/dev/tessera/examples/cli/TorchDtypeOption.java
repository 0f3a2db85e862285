package dev.tessera.examples.cli;

import dev.tessera.core.DType;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/** {@code --torch-dtype}: the width frozen weights keep in memory, as transformers' {@code from_pretrained(torch_dtype=...)}. */
public final class TorchDtypeOption {
    /** transformers' names, with PyTorch's short aliases. */
    enum TorchDtype {
        AUTO(null, "auto"),
        BFLOAT16(DType.BF16, "bfloat16", "bf16"),
        FLOAT16(DType.F16, "float16", "fp16", "half"),
        FLOAT32(DType.F32, "float32", "fp32", "float");

        final DType dtype;
        final List<String> names;

        TorchDtype(DType dtype, String... names) {
            this.dtype = dtype;
            this.names = List.of(names);
        }

        @Override
        public String toString() {
            return names.get(0);
        }
    }

    static final class Converter implements ITypeConverter<TorchDtype> {
        @Override
        public TorchDtype convert(String value) {
            for (TorchDtype t : TorchDtype.values()) {
                if (t.names.contains(value)) {
                    return t;
                }
            }
            throw new TypeConversionException("expected auto, bfloat16, float16 or float32, got '" + value + "'");
        }
    }

    @Option(names = "--torch-dtype", defaultValue = "auto", converter = Converter.class, paramLabel = "auto|bfloat16|float16|float32",
            description = "Width of frozen weights in memory; auto keeps the checkpoint's (default: ${DEFAULT-VALUE}). "
                    + "Trained weights are always float32.")
    TorchDtype torchDtype;

    /** The dtype, or null for auto (as stored). */
    DType dtype() {
        return torchDtype.dtype;
    }
}
