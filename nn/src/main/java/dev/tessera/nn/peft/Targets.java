package dev.tessera.nn.peft;

import dev.tessera.core.TesseraException;
import dev.tessera.nn.LinearLayer;
import dev.tessera.nn.Module;
import dev.tessera.nn.models.CausalLM;
import dev.tessera.nn.models.ModelConfig;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** PEFT's target selection ({@code check_target_module_exists}) and default targets per architecture. */
final class Targets {
    private static final Pattern FIRST_INDEX = Pattern.compile("^.*?\\.[^.]*\\.(\\d+)\\.");

    private Targets() {}

    /** The selection rules of one adapter. */
    record Rule(TargetModules targets, TargetModules exclude, List<Integer> layers, List<String> layersPattern, List<String> modulesToSave) {}

    /**
     * Paths of the modules {@code rule} selects, in model order; each is a linear layer (or an
     * adapter wrapper around one). Modules inside adapter wrappers are never candidates.
     */
    static List<String> select(CausalLM model, Rule rule, String method) {
        String head = pathOf(model, (Module) model.lmHead());
        List<String> out = new ArrayList<>();
        for (var e : candidates(model).entrySet()) {
            String name = e.getKey();
            boolean hit = switch (rule.targets()) {
                case TargetModules.AllLinear a -> e.getValue() instanceof LinearLayer && !name.equals(head);
                case TargetModules.Regex r -> Pattern.compile(r.pattern()).matcher(name).matches();
                case TargetModules.Names n -> n.names().contains(name)
                        || (n.names().stream().anyMatch(t -> name.endsWith("." + t)) && inLayers(name, rule));
            };
            if (!hit || matchesAny(rule.exclude(), name) || isModuleToSave(rule.modulesToSave(), name)) {
                continue;
            }
            if (!(e.getValue() instanceof LinearLayer)) {
                throw new TesseraException(method + ": target '" + name + "' is a " + e.getValue().getClass().getSimpleName()
                        + "; Tessera puts adapters on linear layers only (" + linearNames(model) + ")");
            }
            out.add(name);
        }
        if (out.isEmpty()) {
            throw new TesseraException(method + ": target_modules " + describe(rule.targets()) + " matched no module of this "
                    + model.config().modelType() + " model; its linear layers are " + linearNames(model));
        }
        return out;
    }

    /** Every module by name, except the root and what lives inside an adapter wrapper. */
    static Map<String, Module> candidates(CausalLM model) {
        Map<String, Module> out = new java.util.LinkedHashMap<>();
        String inside = null;
        for (var e : model.namedModules().entrySet()) {
            String name = e.getKey();
            if (name.isEmpty() || (inside != null && name.startsWith(inside))) {
                continue;
            }
            out.put(name, e.getValue());
            inside = e.getValue() instanceof TunerLayer ? name + "." : inside;
        }
        return out;
    }

    /** layers_to_transform: the first numbered segment (or the one after a layers_pattern) must be listed. */
    private static boolean inLayers(String name, Rule rule) {
        if (rule.layers() == null || rule.layers().isEmpty()) {
            return true;
        }
        Matcher m = null;
        if (rule.layersPattern() == null || rule.layersPattern().isEmpty()) {
            m = FIRST_INDEX.matcher(name);
            m = m.find() ? m : null;
        } else {
            for (String p : rule.layersPattern()) {
                Matcher candidate = Pattern.compile("^(?:|.*?\\.)" + p + "\\.(\\d+)\\.").matcher(name);
                if (candidate.find()) {
                    m = candidate;
                    break;
                }
            }
        }
        return m != null && rule.layers().contains(Integer.parseInt(m.group(1)));
    }

    static boolean matchesAny(TargetModules modules, String name) {
        return switch (modules) {
            case null -> false;
            case TargetModules.AllLinear a -> false;
            case TargetModules.Regex r -> Pattern.compile(r.pattern()).matcher(name).matches();
            case TargetModules.Names n -> n.names().contains(name) || n.names().stream().anyMatch(t -> name.endsWith("." + t));
        };
    }

    /** PEFT keeps adapters off modules_to_save and their insides. */
    private static boolean isModuleToSave(List<String> modulesToSave, String name) {
        if (modulesToSave == null) {
            return false;
        }
        for (String m : modulesToSave) {
            if (Pattern.compile("(^|.*\\.)" + m + "($|\\..*)").matcher(name).matches()) {
                return true;
            }
        }
        return false;
    }

    /** IA3's feed-forward test: a regex full match, else a plain suffix (no dot), as PEFT. */
    static boolean isFeedforward(TargetModules feedforward, String name) {
        return switch (feedforward) {
            case null -> false;
            case TargetModules.AllLinear a -> true;
            case TargetModules.Regex r -> Pattern.compile(r.pattern()).matcher(name).matches();
            case TargetModules.Names n -> n.names().stream().anyMatch(name::endsWith);
        };
    }

    /** modules_to_save: every module whose name ends with an entry (PEFT's plain suffix test). */
    static List<String> modulesToSave(CausalLM model, List<String> names) {
        List<String> out = new ArrayList<>();
        if (names == null) {
            return out;
        }
        for (String path : candidates(model).keySet()) {
            if (names.stream().anyMatch(path::endsWith) && out.stream().noneMatch(p -> path.startsWith(p + "."))) {
                out.add(path);
            }
        }
        if (out.isEmpty() && !names.isEmpty()) {
            throw new TesseraException("modules_to_save " + names + " matched no module of this " + model.config().modelType() + " model");
        }
        return out;
    }

    static String pathOf(Module root, Module target) {
        for (var e : root.namedModules().entrySet()) {
            if (e.getValue() == target) {
                return e.getKey();
            }
        }
        return null;
    }

    /** The linear layers' names with layer indices folded: {@code transformer.h.{i}.attn.c_attn, ...}. */
    static String linearNames(CausalLM model) {
        Set<String> names = new LinkedHashSet<>();
        for (var e : candidates(model).entrySet()) {
            if (e.getValue() instanceof LinearLayer) {
                names.add(e.getKey().replaceAll("\\.\\d+\\.", ".{i}."));
            }
        }
        return String.join(", ", names);
    }

    private static String describe(TargetModules t) {
        return switch (t) {
            case TargetModules.AllLinear a -> "\"all-linear\"";
            case TargetModules.Regex r -> "\"" + r.pattern() + "\" (regex)";
            case TargetModules.Names n -> n.names().toString();
        };
    }

    // ---------------------------------------------------------------- defaults (PEFT's constants.py)

    /** TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING: c_attn for GPT-2, q/v for every Llama-family type (llama, mistral, qwen2, ...). */
    static TargetModules loraDefault(ModelConfig config) {
        return config.family() == ModelConfig.Family.GPT2 ? TargetModules.of("c_attn") : TargetModules.of("q_proj", "v_proj");
    }

    /** TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING. */
    static TargetModules ia3Default(ModelConfig config) {
        if (config.family() == ModelConfig.Family.GPT2) {
            return TargetModules.of("c_attn", "mlp.c_proj");
        }
        return switch (config.modelType()) {
            case "qwen2", "qwen3", "gemma", "gemma2", "phi" -> TargetModules.of("q_proj", "v_proj", "down_proj");
            default -> TargetModules.of("k_proj", "v_proj", "down_proj");
        };
    }

    /** TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING. */
    static TargetModules ia3FeedforwardDefault(ModelConfig config) {
        return config.family() == ModelConfig.Family.GPT2 ? TargetModules.of("mlp.c_proj") : TargetModules.of("down_proj");
    }

    /** Houlsby placement: the attention output projection and the MLP output projection. */
    static TargetModules bottleneckDefault(ModelConfig config) {
        return config.family() == ModelConfig.Family.GPT2 ? TargetModules.of("attn.c_proj", "mlp.c_proj") : TargetModules.of("o_proj", "down_proj");
    }
}
