package dev.tessera.nn.peft;

import dev.tessera.core.TesseraException;
import dev.tessera.nn.models.CausalLM;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** PEFT's {@code modules_to_save} of every adapter of a model: what each trains in full and saves with it. */
final class SavedModules {
    private final Map<String, List<ModulesToSave>> byAdapter = new LinkedHashMap<>();

    /** Takes over the modules {@code names} select in {@code model} for {@code adapter}; a module goes with one adapter only. */
    void add(CausalLM model, String adapter, List<String> names) {
        List<ModulesToSave> list = new ArrayList<>();
        for (String path : Targets.modulesToSave(model, names)) {
            for (List<ModulesToSave> other : byAdapter.values()) {
                if (other.stream().anyMatch(m -> m.path().equals(path))) {
                    throw new TesseraException("modules_to_save: " + path + " is already saved with another adapter");
                }
            }
            list.add(new ModulesToSave(model, path));
        }
        byAdapter.put(adapter, list);
    }

    /** The modules {@code adapter} saves (empty for none or for null). */
    List<ModulesToSave> of(String adapter) {
        return adapter == null ? List.of() : byAdapter.getOrDefault(adapter, List.of());
    }

    /** Every adapter's modules. */
    List<ModulesToSave> all() {
        return byAdapter.values().stream().flatMap(List::stream).toList();
    }

    /** Puts the originals of {@code adapter}'s modules back and forgets them. */
    void restoreAndRemove(String adapter) {
        of(adapter).forEach(ModulesToSave::restore);
        byAdapter.remove(adapter);
    }
}
