package dev.tessera.nn.io;

import static dev.tessera.nn.io.IoErrors.error;

import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a weight folder tensor by tensor, without holding it in memory: each tensor's bytes
 * go to a spill file in the folder as soon as it is added (the tensor can be freed at once), and
 * {@link #finish} writes the shards and index exactly as {@link WeightFolders#saveStateDict} would
 * write the same tensors in the given order. Memory stays at one tensor whatever the model size.
 *
 * <pre>{@code
 * try (WeightFolderWriter w = WeightFolderWriter.open(Path.of("out"))) {
 *     for (...) { w.add(name, tensor); tensor.release(); }
 *     w.finish(order);   // model.safetensors (or shards + index), same bytes as saveStateDict
 * }
 * }</pre>
 */
public final class WeightFolderWriter implements AutoCloseable {
    private record Spilled(String dtype, int[] shape, long numel, long offset, long bytes) {}

    private final Path dir;
    private final Path spillPath;
    private final FileChannel spill;
    private final Map<String, Spilled> tensors = new LinkedHashMap<>();
    private long end;

    private WeightFolderWriter(Path dir, Path spillPath, FileChannel spill) {
        this.dir = dir;
        this.spillPath = spillPath;
        this.spill = spill;
    }

    /** Starts writing into {@code dir} (created if missing). */
    public static WeightFolderWriter open(Path dir) {
        try {
            Files.createDirectories(dir);
            Path spillPath = dir.resolve(".tensors." + ProcessHandle.current().pid() + ".spill");
            FileChannel ch = FileChannel.open(spillPath, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE);
            return new WeightFolderWriter(dir, spillPath, ch);
        } catch (IOException e) {
            throw IoErrors.io(dir, e);
        }
    }

    /** Copies {@code t}'s bytes (contiguous, CPU) to the spill file now; {@code t} may be freed afterwards. */
    public void add(String name, Tensor t) {
        if (tensors.containsKey(name)) {
            throw error(dir, name, "tensor added twice");
        }
        try (var scope = Scope.open()) {
            Tensor c = t.to(Device.CPU).contiguous();
            long bytes = c.numel() * c.dtype().byteSize();
            AtomicFiles.writeFully(spill, c.dataSegment());
            tensors.put(name, new Spilled(c.dtype().safetensorsName(), c.shape(), c.numel(), end, bytes));
            end += bytes;
        } catch (IOException e) {
            throw IoErrors.io(spillPath, e);
        }
    }

    /** Writes the folder with the tensors in {@code order} (every added name, once), 5 GB shards. */
    public void finish(List<String> order) {
        if (order.size() != tensors.size() || !tensors.keySet().containsAll(order)) {
            throw error(dir, "finish: the order must list every added tensor once (" + tensors.size() + " added, "
                    + order.size() + " listed)");
        }
        List<WeightFolders.Sized> sized = new ArrayList<>();
        for (String name : order) {
            Spilled s = tensors.get(name);
            sized.add(new WeightFolders.Sized(name, s.numel(), s.bytes()));
        }
        WeightFolders.writeShards(dir, sized, WeightFolders.DEFAULT_MAX_SHARD_BYTES, (file, names) -> {
            Map<String, SafeTensors.Deferred> shard = new LinkedHashMap<>();
            for (String name : names) {
                Spilled s = tensors.get(name);
                shard.put(name, new SafeTensors.Deferred(s.dtype(), s.shape(), s.bytes(), out -> {
                    // the kernel copies file to file: the bytes never pass through this process's memory
                    for (long done = 0; done < s.bytes(); ) {
                        done += spill.transferTo(s.offset() + done, s.bytes() - done, out);
                    }
                }));
            }
            SafeTensors.writeDeferred(file, shard);
        });
    }

    /** Deletes the spill file. */
    @Override
    public void close() {
        try {
            spill.close();
            Files.deleteIfExists(spillPath);
        } catch (IOException e) {
            throw IoErrors.io(spillPath, e);
        }
    }
}
