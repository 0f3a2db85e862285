package dev.tessera.examples.cli;

import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.quant.BitsAndBytesConfig;
import dev.tessera.quant.QuantizedModels;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Loads a model folder for the CLI: plain Hugging Face or bitsandbytes 4-bit. Plain folders load
 * straight onto the run's device, tensor by tensor through one host buffer; 4-bit folders load on
 * the host and are moved.
 */
final class ModelFolders {
    private ModelFolders() {}

    /** Every weight F32 and trainable (full fine-tuning, merging), loaded straight onto {@code device}. */
    static CausalLM load(Path dir, Device device) {
        if (QuantizedModels.isQuantized(dir)) {
            return QuantizedModels.load(dir);
        }
        return CausalLM.load(dir, device);
    }

    /**
     * A base that stays frozen (adapters, generation, scoring): matrices at {@code dtype} (null:
     * as the checkpoint stores them), read tensor by tensor; a 4-bit folder loads as such.
     */
    static CausalLM loadFrozen(Path dir, DType dtype, Device device) {
        if (QuantizedModels.isQuantized(dir)) {
            return QuantizedModels.load(dir);
        }
        return CausalLM.loadFrozen(dir, dtype, CausalLM.WeightInterceptor.NONE, device);
    }

    /** A plain folder quantized while it loads (QLoRA), progress on stderr; a 4-bit folder as it is. */
    static CausalLM loadIn4bit(Path dir, BitsAndBytesConfig config, DType dtype, Device device) {
        if (QuantizedModels.isQuantized(dir)) {
            return QuantizedModels.load(dir);
        }
        long start = System.nanoTime();
        int[] lastTenth = {-1};
        CausalLM model = QuantizedModels.loadIn4bit(dir, config, dtype, device, (done, total) -> {
            int tenth = done * 10 / Math.max(1, total);
            if (tenth != lastTenth[0] || done.equals(total)) {
                lastTenth[0] = tenth;
                System.err.printf(Locale.ROOT, "loading in 4-bit: %d/%d linear layers (%.0f s)%n", done, total,
                        (System.nanoTime() - start) / 1e9);
            }
        });
        return model;
    }
}
