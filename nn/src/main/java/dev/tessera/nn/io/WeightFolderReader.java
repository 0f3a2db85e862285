package dev.tessera.nn.io;

import static dev.tessera.nn.io.IoErrors.error;

import dev.tessera.core.Tensor;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

/**
 * The tensors of a Hugging Face model folder ({@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json}), memory-mapped until {@link #close}.
 *
 * <pre>{@code
 * try (WeightFolderReader weights = WeightFolders.open(Path.of("gpt2"))) {
 *     Tensor wte = weights.tensor("transformer.wte.weight");  // in place, valid until close()
 *     Tensor own = weights.load("transformer.wpe.weight");    // a copy owned by the current Scope
 * }
 * }</pre>
 */
public final class WeightFolderReader implements AutoCloseable {
    private final Path dir;
    private final List<SafeTensorsFile> files;
    private final SortedMap<String, SafeTensorsFile> fileOf;

    WeightFolderReader(Path dir, List<SafeTensorsFile> files, SortedMap<String, SafeTensorsFile> fileOf) {
        this.dir = dir;
        this.files = List.copyOf(files);
        this.fileOf = fileOf;
    }

    /** Every tensor name across all shards, sorted. */
    public List<String> names() {
        return List.copyOf(fileOf.keySet());
    }

    public boolean contains(String name) {
        return fileOf.containsKey(name);
    }

    /** The safetensors dtype name ("F32", "BF16", ...). */
    public String dtypeName(String name) {
        return file(name).dtypeName(name);
    }

    public int[] shape(String name) {
        return file(name).shape(name);
    }

    /**
     * Every tensor read in place, by sorted name: a state dict that is valid until {@link #close}
     * (copy what must outlive it, e.g. with {@code Module.loadStateDict}).
     */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (String name : fileOf.keySet()) {
            out.put(name, tensor(name));
        }
        return out;
    }

    /** The tensor read in place from its shard's mapping; see {@link SafeTensorsFile#tensor}. */
    public Tensor tensor(String name) {
        return file(name).tensor(name);
    }

    /** A copy owned by the current {@code Scope}; see {@link SafeTensorsFile#load}. */
    public Tensor load(String name) {
        return file(name).load(name);
    }

    /** {@link SafeTensorsFile#read}: a copy made with file reads, so the mapping's pages stay out of resident memory. */
    public Tensor read(String name) {
        return file(name).read(name);
    }

    /** The tensor's stored bytes; see {@link SafeTensorsFile#byteSize}. */
    public long byteSize(String name) {
        return file(name).byteSize(name);
    }

    /** {@link SafeTensorsFile#readInto}: the stored bytes read into a caller's buffer. */
    public void readInto(String name, java.lang.foreign.MemorySegment dst) {
        file(name).readInto(name, dst);
    }

    /** {@link SafeTensorsFile#readF32}: an F32 copy widened slice by slice as it is read. */
    public Tensor readF32(String name) {
        return file(name).readF32(name);
    }

    /** Unmaps every shard. Idempotent. */
    @Override
    public void close() {
        for (SafeTensorsFile f : files) {
            f.close();
        }
    }

    private SafeTensorsFile file(String name) {
        SafeTensorsFile f = fileOf.get(name);
        if (f == null) {
            throw error(dir, name, "no such tensor in the checkpoint");
        }
        return f;
    }
}
