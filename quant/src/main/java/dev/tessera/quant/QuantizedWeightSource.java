package dev.tessera.quant;

import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.nn.Init;
import dev.tessera.nn.ParameterSource;
import dev.tessera.nn.io.WeightFolderReader;
import dev.tessera.nn.models.ModelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parameters of a quantized model folder while its model is built: F32 copies (BF16/F16
 * converted) of ordinary tensors, tiny stand-ins for the weights of 4-bit layers (replaced
 * afterwards), and a list of every problem rather than the first.
 */
final class QuantizedWeightSource implements ParameterSource {
    /** Buffers that transformers skips too: GPT-2's causal-mask buffers, old rotary caches. */
    private static final Pattern IGNORED = Pattern.compile(".*(\\.attn\\.bias|\\.attn\\.masked_bias|rotary_emb\\.inv_freq)$");

    private final WeightFolderReader weights;
    private final Set<String> quantized;
    private final Set<String> used = new HashSet<>();
    final List<String> problems = new ArrayList<>();
    final List<Tensor> placeholders = new ArrayList<>();
    private final List<String> missing = new ArrayList<>();

    QuantizedWeightSource(WeightFolderReader weights, Set<String> quantized) {
        this.weights = weights;
        this.quantized = quantized;
    }

    @Override
    public Tensor tensor(String name, int[] shape, Init init) {
        if (name.endsWith(".weight") && quantized.contains(name.substring(0, name.length() - 7))) {
            return stand(shape); // the real weight is the 4-bit layer that replaces this module
        }
        if (!weights.contains(name)) {
            missing.add(name);
            return stand(shape);
        }
        used.add(name);
        int[] actual = weights.shape(name);
        String dtype = weights.dtypeName(name);
        if (!Arrays.equals(actual, shape)) {
            problems.add(name + " has shape " + Arrays.toString(actual) + ", expected " + Arrays.toString(shape));
        } else if (!dtype.equals("F32") && !dtype.equals("BF16") && !dtype.equals("F16")) {
            problems.add(name + " has dtype " + dtype + ", expected F32, BF16 or F16");
        } else {
            try (var ng = Autograd.noGrad()) {
                return Scope.unowned(() -> {
                    Tensor read = weights.read(name); // file reads: the mapping's pages never become resident
                    if (read.dtype() == DType.F32) {
                        return read;
                    }
                    Tensor wide = read.cast(DType.F32);
                    read.release();
                    return wide;
                });
            }
        }
        return stand(shape);
    }

    /** A broadcast zero of the expected shape: reports go on without allocating what config.json claims. */
    private Tensor stand(int[] shape) {
        Tensor t = QuantizedModels.broadcastZero(shape);
        placeholders.add(t);
        return t;
    }

    /** Adds "missing" and "unexpected" entries: tensors nothing asked for, beyond 4-bit state and skipped buffers. */
    void addUnexpected(ModelConfig config, List<String> out) {
        if (!missing.isEmpty()) {
            out.add("missing " + missing);
        }
        List<String> unexpected = new ArrayList<>();
        for (String name : weights.names()) {
            boolean quantState = quantized.stream().anyMatch(m -> name.equals(m + ".weight") || name.startsWith(m + ".weight."));
            boolean tiedHead = config.tieWordEmbeddings() && name.equals("lm_head.weight");
            if (!used.contains(name) && !quantState && !tiedHead && !IGNORED.matcher(name).matches()) {
                unexpected.add(name);
            }
        }
        if (!unexpected.isEmpty()) {
            out.add("unexpected " + unexpected);
        }
    }
}
