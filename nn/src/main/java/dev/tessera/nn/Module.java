package dev.tessera.nn;

import dev.tessera.core.Autograd;
import dev.tessera.core.Backends;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A node of a model: named parameters and named child modules, as in PyTorch. The dotted names
 * from the root are the Hugging Face names ({@code transformer.h.0.attn.c_attn.weight},
 * {@code model.layers.0.self_attn.q_proj.weight}), so state dicts move between Tessera and
 * Python unchanged.
 *
 * <pre>{@code
 * CausalLM model = CausalLM.load(Path.of("models/gpt2"));
 * model.requiresGrad(false);                                   // freeze everything
 * model.getSubmodule("transformer.ln_f").requiresGrad(true);   // train one norm
 * long trainable = model.parameterCount(true);
 * model.setSubmodule("transformer.h.0.attn.c_attn", myWrapper); // how adapters are injected
 * for (var e : model.namedModules().entrySet()) {
 *     if (e.getValue() instanceof LinearLayer) System.out.println(e.getKey());
 * }
 * }</pre>
 *
 * Parameters are unowned tensors (no {@link Scope} releases them); {@link #release()} frees a
 * whole tree. A tensor registered under two names (tied embeddings) is listed once, under the
 * first name, by {@link #namedParameters()} and {@link #stateDict()}, as PyTorch does.
 */
public abstract class Module {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    // ---------------------------------------------------------------- registration

    /** Registers {@code tensor} as parameter {@code name} of this module (requires grad) and returns it. */
    protected final Tensor addParameter(String name, Tensor tensor) {
        checkLocalName(name);
        if (children.containsKey(name)) {
            throw new TesseraException(getClass().getSimpleName() + ": '" + name + "' is already a child module");
        }
        if (tensor.dtype().isFloating() && !tensor.requiresGrad()) {
            tensor.requiresGrad(true);
        }
        parameters.put(name, tensor);
        return tensor;
    }

    /** Registers {@code module} as child {@code name} and returns it. */
    protected final <M extends Module> M addModule(String name, M module) {
        checkLocalName(name);
        if (parameters.containsKey(name)) {
            throw new TesseraException(getClass().getSimpleName() + ": '" + name + "' is already a parameter");
        }
        children.put(name, module);
        return module;
    }

    /**
     * Child {@code name} as a {@code type}. Layers look their children up here on every call
     * (rather than keeping them in fields) so that {@link #setSubmodule} takes effect at once.
     */
    protected final <T> T child(String name, Class<T> type) {
        Module m = children.get(name);
        if (m == null) {
            throw new TesseraException(getClass().getSimpleName() + " has no child '" + name + "'");
        }
        if (!type.isInstance(m)) {
            throw new TesseraException(getClass().getSimpleName() + "." + name + " is a " + m.getClass().getSimpleName()
                    + ", expected a " + type.getSimpleName());
        }
        return type.cast(m);
    }

    private static void checkLocalName(String name) {
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new TesseraException("module and parameter names must be non-empty and contain no '.', got '" + name + "'");
        }
    }

    // ---------------------------------------------------------------- traversal

    /** The parameter {@code name} of this module itself (not a child's), or null. */
    public final Tensor localParameter(String name) {
        return parameters.get(name);
    }

    /** Direct children in registration order. */
    public final Map<String, Module> namedChildren() {
        return Collections.unmodifiableMap(children);
    }

    /** This module (name "") and every descendant, depth first, by dotted name. */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", this, out);
        return out;
    }

    private static void collectModules(String prefix, Module m, Map<String, Module> out) {
        out.put(prefix, m);
        for (var e : m.children.entrySet()) {
            collectModules(join(prefix, e.getKey()), e.getValue(), out);
        }
    }

    private static String join(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "." + name;
    }

    /** Every parameter by dotted name, in registration order; a shared tensor appears once. */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (var e : allParameterSlots().entrySet()) {
            if (seen.add(e.getValue())) {
                out.put(e.getKey(), e.getValue());
            }
        }
        return out;
    }

    /** Every parameter slot by dotted name, shared tensors under each of their names. */
    private Map<String, Tensor> allParameterSlots() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var m : namedModules().entrySet()) {
            for (var p : m.getValue().parameters.entrySet()) {
                out.put(join(m.getKey(), p.getKey()), p.getValue());
            }
        }
        return out;
    }

    /** The parameters, each once. */
    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** The parameters that require gradients, by name. */
    public final Map<String, Tensor> trainableParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedParameters().forEach((k, v) -> {
            if (v.requiresGrad()) {
                out.put(k, v);
            }
        });
        return out;
    }

    /** Number of parameter elements (each shared tensor once); only trainable ones when {@code trainableOnly}. */
    public final long parameterCount(boolean trainableOnly) {
        long n = 0;
        for (Tensor t : namedParameters().values()) {
            if (!trainableOnly || t.requiresGrad()) {
                n += t.numel();
            }
        }
        return n;
    }

    /** The module at dotted {@code path} ("" is this one). */
    public final Module getSubmodule(String path) {
        Module m = this;
        if (path.isEmpty()) {
            return m;
        }
        for (String part : path.split("\\.", -1)) {
            Module next = m.children.get(part);
            if (next == null) {
                throw new TesseraException("no submodule '" + path + "' (" + m.getClass().getSimpleName() + " has no child '" + part
                        + "'; children: " + m.children.keySet() + ")");
            }
            m = next;
        }
        return m;
    }

    /**
     * Replaces the module at dotted {@code path} (which must exist) with {@code module}, e.g. a
     * LoRA wrapper around the original; the new module takes over the training mode.
     */
    public final void setSubmodule(String path, Module module) {
        int dot = path.lastIndexOf('.');
        Module parent = dot < 0 ? this : getSubmodule(path.substring(0, dot));
        String name = path.substring(dot + 1);
        if (!parent.children.containsKey(name)) {
            throw new TesseraException("no submodule '" + path + "' to replace");
        }
        parent.children.put(name, module);
        module.train(parent.training);
    }

    // ---------------------------------------------------------------- modes

    /** Training mode (dropout active) for this module and all descendants; returns this. */
    public Module train(boolean on) {
        for (Module m : namedModules().values()) {
            m.training = on;
        }
        return this;
    }

    public final Module train() {
        return train(true);
    }

    /** Evaluation mode (dropout off); returns this. */
    public final Module eval() {
        return train(false);
    }

    public final boolean isTraining() {
        return training;
    }

    /** Sets requiresGrad on every parameter below this module (false freezes them); returns this. */
    public final Module requiresGrad(boolean on) {
        for (Tensor t : namedParameters().values()) {
            t.requiresGrad(on);
        }
        return this;
    }

    /**
     * Moves every parameter below this module to {@code device} in place (each shared tensor
     * once), as PyTorch's {@code module.to(device)}; the tensors stay the same objects, so
     * optimizers made afterwards or before see them there. Returns this module.
     *
     * <pre>{@code
     * CausalLM model = CausalLM.load(dir).to(Device.cuda(0));   // then train or generate there
     * }</pre>
     */
    @SuppressWarnings("unchecked")
    public final <M extends Module> M to(Device device) {
        Backends.of(device);   // a clear error when the device is not usable, before anything moves
        for (Tensor t : namedParameters().values()) {
            t.moveTo(device);
        }
        return (M) this;
    }

    /** The device of this module's parameters (the CPU when it has none). */
    public final Device device() {
        for (Tensor t : namedParameters().values()) {
            return t.device();
        }
        return Device.CPU;
    }

    /** Drops every parameter's gradient. */
    public final void zeroGrad() {
        for (Tensor t : namedParameters().values()) {
            t.zeroGrad();
        }
    }

    /** Frees every parameter (and gradient) below this module; the module is unusable afterwards. */
    public void release() {
        for (Tensor t : namedParameters().values()) {
            t.zeroGrad();
            t.release();
        }
    }

    // ---------------------------------------------------------------- state dict

    /**
     * The parameters by dotted name, each shared tensor once (as Hugging Face saves tied
     * weights). The tensors are the live parameters, not copies.
     */
    public Map<String, Tensor> stateDict() {
        return namedParameters();
    }

    /** What {@link #loadStateDict} did not match: names in neither direction. */
    public record LoadResult(List<String> missing, List<String> unexpected) {
        public boolean isExact() {
            return missing.isEmpty() && unexpected.isEmpty();
        }
    }

    /**
     * Copies {@code state} into the parameters (converted from BF16/F16 when needed). A shared
     * tensor is filled from whichever of its names is present. Shapes must match; with
     * {@code strict}, missing and unexpected names are errors too. All problems are reported
     * in one message, by name, before anything is written.
     */
    public LoadResult loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> slots = allParameterSlots();
        // group the slots of shared tensors: any of their names may carry the value
        Map<Tensor, List<String>> groups = new IdentityHashMap<>();
        List<Tensor> order = new ArrayList<>();
        for (var e : slots.entrySet()) {
            groups.computeIfAbsent(e.getValue(), t -> {
                order.add(t);
                return new ArrayList<>();
            }).add(e.getKey());
        }
        List<String> missing = new ArrayList<>();
        List<String> misShaped = new ArrayList<>();
        Map<Tensor, Tensor> assignments = new IdentityHashMap<>();
        for (Tensor param : order) {
            List<String> names = groups.get(param);
            Tensor source = null;
            for (String n : names) {
                Tensor candidate = state.get(n);
                if (candidate == null) {
                    continue;
                }
                if (!Arrays.equals(candidate.shape(), param.shape())) {
                    misShaped.add(n + " has shape " + Arrays.toString(candidate.shape()) + ", expected " + Arrays.toString(param.shape()));
                } else if (!candidate.dtype().isFloating() && param.dtype().isFloating()) {
                    misShaped.add(n + " has dtype " + candidate.dtype() + ", expected a floating type");
                } else if (param.device().isCpu() && param.storage().segment().isReadOnly()) {
                    misShaped.add(n + " is read-only (a checkpoint mapped in place)");
                } else if (source == null) {
                    source = candidate;
                }
            }
            if (source != null) {
                assignments.put(param, source);
            } else if (names.stream().noneMatch(state::containsKey)) {
                missing.add(names.getFirst());
            }
        }
        Set<String> unexpected = new TreeSet<>(state.keySet());
        unexpected.removeAll(slots.keySet());
        List<String> problems = new ArrayList<>(misShaped);
        if (strict) {
            if (!missing.isEmpty()) {
                problems.add("missing " + missing);
            }
            if (!unexpected.isEmpty()) {
                problems.add("unexpected " + unexpected);
            }
        }
        if (!problems.isEmpty()) {
            throw new TesseraException("state dict does not fit " + getClass().getSimpleName() + ": " + String.join("; ", problems));
        }
        try (var ng = Autograd.noGrad(); var scope = Scope.open()) {
            for (var e : assignments.entrySet()) {
                e.getKey().copyFrom(e.getValue()); // converts BF16/F16 to the parameter's dtype
            }
        }
        return new LoadResult(List.copyOf(missing), List.copyOf(unexpected));
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        describe(sb, "", 0);
        return sb.toString();
    }

    /** A one-line summary of this module's own configuration, shown by {@link #toString()}. */
    protected String extraRepr() {
        return "";
    }

    private void describe(StringBuilder sb, String name, int depth) {
        sb.append("  ".repeat(depth));
        if (!name.isEmpty()) {
            sb.append('(').append(name).append("): ");
        }
        sb.append(getClass().getSimpleName()).append('(').append(extraRepr()).append(")\n");
        for (var e : children.entrySet()) {
            e.getValue().describe(sb, e.getKey(), depth + 1);
        }
    }
}
