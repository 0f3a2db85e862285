package dev.tessera.nn;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Children named {@code 0, 1, 2, ...}, as PyTorch's {@code nn.ModuleList} (GPT-2's {@code h}, Llama's {@code layers}). */
public final class ModuleList<M extends Module> extends Module implements Iterable<M> {
    private final Class<M> type;
    private int size;

    public ModuleList(Class<M> type) {
        this.type = type;
    }

    public M add(M module) {
        return addModule(Integer.toString(size++), module);
    }

    /** Element {@code i}; reflects replacements made with {@link #setSubmodule}. */
    public M get(int i) {
        return child(Integer.toString(i), type);
    }

    public int size() {
        return size;
    }

    @Override
    public Iterator<M> iterator() {
        List<M> items = new ArrayList<>(size);
        for (int i = 0; i < size; i++) {
            items.add(get(i));
        }
        return items.iterator();
    }
}
