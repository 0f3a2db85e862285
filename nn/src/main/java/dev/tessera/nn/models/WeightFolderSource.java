package dev.tessera.nn.models;

import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.Init;
import dev.tessera.nn.ParameterSource;
import dev.tessera.nn.io.WeightFolderReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parameters read from a weight folder while a model is built. Problems are collected rather than
 * thrown one at a time, so {@link #finish} reports every missing, mis-shaped and unexpected
 * tensor in one error.
 */
final class WeightFolderSource implements ParameterSource {
    /** Buffers that transformers also skips: GPT-2's causal-mask buffers, old rotary caches. */
    private static final Pattern IGNORED = Pattern.compile(".*(\\.attn\\.bias|\\.attn\\.masked_bias|rotary_emb\\.inv_freq)$");

    private final WeightFolderReader weights;
    private final Path dir;
    private final boolean inPlace;
    /** Frozen loading: 2-D+ weights in this dtype (null: as stored), vectors F32; null for the F32 load. */
    private final FrozenLoad frozen;

    /** How a frozen model loads: the width of its matrices and a hook that may take a weight over. */
    record FrozenLoad(DType dtype, CausalLM.WeightInterceptor interceptor) {}
    private final Set<String> used = new HashSet<>();
    private final List<String> missing = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();

    /** Non-null when tensors go straight to a device rather than into host memory. */
    private final DeviceStaging staging;

    WeightFolderSource(WeightFolderReader weights, Path dir, boolean inPlace) {
        this(weights, dir, inPlace, null, null);
    }

    /** {@code staging} (may be null: host memory) takes every tensor not intercepted straight to its device. */
    WeightFolderSource(WeightFolderReader weights, Path dir, boolean inPlace, FrozenLoad frozen, DeviceStaging staging) {
        this.weights = weights;
        this.dir = dir;
        this.inPlace = inPlace;
        this.frozen = frozen;
        this.staging = staging;
    }

    @Override
    public Tensor tensor(String name, int[] shape, Init init) {
        String key = resolve(name);
        if (key == null) {
            missing.add(name);
            return placeholder(shape);
        }
        used.add(key);
        int[] actual = weights.shape(key);
        if (!Arrays.equals(actual, shape)) {
            problems.add(key + " has shape " + Arrays.toString(actual) + ", expected " + Arrays.toString(shape));
            return placeholder(shape);
        }
        String dtype = weights.dtypeName(key);
        if (!dtype.equals("F32") && !dtype.equals("BF16") && !dtype.equals("F16")) {
            problems.add(key + " has dtype " + dtype + ", expected F32, BF16 or F16");
            return placeholder(shape);
        }
        if (frozen != null) {
            return frozen(name, key, shape);
        }
        if (staging != null) {
            return staging.load(key, DType.F32);
        }
        Tensor stored = weights.tensor(key);
        try (var ng = Autograd.noGrad()) {
            return Scope.unowned(() -> stored.dtype() != DType.F32 ? stored.cast(DType.F32) : inPlace ? stored : stored.copy());
        }
    }

    /**
     * A frozen parameter read with file reads (the mapping's pages never become resident): taken
     * by the interceptor, or kept at the requested width; vectors (norms, biases) are F32.
     */
    private Tensor frozen(String name, String key, int[] shape) {
        Tensor taken = frozen.interceptor().intercept(name, shape, () -> weights.readF32(key));
        if (taken != null) {
            return taken;
        }
        DType stored = DType.valueOf(weights.dtypeName(key));
        DType want = shape.length < 2 ? DType.F32 : frozen.dtype() == null ? stored : frozen.dtype();
        if (staging != null) {
            return staging.load(key, want);
        }
        try (var ng = Autograd.noGrad()) {
            return Scope.unowned(() -> {
                Tensor read = weights.read(key);
                if (read.dtype() == want) {
                    return read;
                }
                Tensor cast = read.cast(want);
                read.release();
                return cast;
            });
        }
    }

    /** The checkpoint's name for a parameter: as is, or without the base prefix (checkpoints of GPT2Model / LlamaModel). */
    private String resolve(String name) {
        if (weights.contains(name)) {
            return name;
        }
        int dot = name.indexOf('.');
        String bare = dot < 0 ? null : name.substring(dot + 1);
        boolean basePrefix = name.startsWith("transformer.") || name.startsWith("model.");
        return basePrefix && weights.contains(bare) ? bare : null;
    }

    /**
     * Stands in for a missing or mis-shaped tensor so the build can go on and report every problem
     * at once: one zero broadcast to the expected shape, so a hostile config.json cannot make us
     * allocate the sizes it claims.
     */
    private static Tensor placeholder(int[] shape) {
        int[] ones = new int[shape.length];
        Arrays.fill(ones, 1);
        return Scope.unowned(() -> Tensor.zeros(ones).expand(shape));
    }

    /** Throws one error listing every problem, naming the folder. */
    void finish(ModelConfig config) {
        List<String> unexpected = new ArrayList<>();
        for (String name : weights.names()) {
            boolean tiedHead = config.tieWordEmbeddings() && name.equals("lm_head.weight");
            if (!used.contains(name) && !tiedHead && !IGNORED.matcher(name).matches()) {
                unexpected.add(name);
            }
        }
        List<String> all = new ArrayList<>(problems);
        if (!missing.isEmpty()) {
            all.add("missing " + missing);
        }
        if (!unexpected.isEmpty()) {
            all.add("unexpected " + unexpected);
        }
        if (!all.isEmpty()) {
            throw new TesseraException(dir + ": checkpoint does not fit the " + config.modelType() + " model of config.json: "
                    + String.join("; ", all));
        }
    }
}
