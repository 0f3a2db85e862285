package dev.tessera.nn.io;

import static dev.tessera.nn.io.IoErrors.error;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.tessera.core.Tensor;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Model weights in Hugging Face's folder layout: {@code model.safetensors}, or shards
 * {@code model-00001-of-00003.safetensors ...} listed by {@code model.safetensors.index.json}.
 *
 * <pre>{@code
 * WeightFolders.saveStateDict(Path.of("out"), model.stateDict(), 2_000_000_000L);  // shards of <= 2 GB
 * try (WeightFolderReader weights = WeightFolders.open(Path.of("out"))) {
 *     model.loadStateDict(weights.stateDict(), true);  // file read in place, copied into the parameters
 * }
 * }</pre>
 *
 * Loading follows transformers: {@code model.safetensors} if present, else the index. Saving
 * follows transformers too (the tensors in map order, a new shard whenever the next tensor would
 * overflow the limit, a tensor larger than the limit alone in its shard), each file written
 * atomically; files of an earlier save that the new one does not use are deleted afterwards.
 */
public final class WeightFolders {
    static final String WEIGHTS = "model.safetensors";
    static final String INDEX = "model.safetensors.index.json";
    /** transformers' default {@code max_shard_size} ("5GB"). */
    static final long DEFAULT_MAX_SHARD_BYTES = 5_000_000_000L;

    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");

    private WeightFolders() {}

    /** Opens the weights of a model folder, validating every file and the index before use. */
    public static WeightFolderReader open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw error(dir, Files.exists(dir) ? "not a folder" : "no such folder");
        }
        Path single = dir.resolve(WEIGHTS);
        if (Files.exists(single)) {
            SafeTensorsFile f = SafeTensors.open(single);
            SortedMap<String, SafeTensorsFile> fileOf = new TreeMap<>();
            for (String name : f.names()) {
                fileOf.put(name, f);
            }
            return new WeightFolderReader(dir, List.of(f), fileOf);
        }
        Path index = dir.resolve(INDEX);
        if (!Files.exists(index)) {
            throw error(dir, "no " + WEIGHTS + " or " + INDEX + " in the folder");
        }
        return openSharded(dir, index);
    }

    /** Every tensor of the folder, copied into memory owned by the current {@code Scope}, by sorted name. */
    public static Map<String, Tensor> loadStateDict(Path dir) {
        try (WeightFolderReader weights = open(dir)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : weights.names()) {
                out.put(name, weights.load(name));
            }
            return out;
        }
    }

    /** {@link #saveStateDict(Path, Map, long)} with transformers' default limit of 5 GB per shard. */
    public static void saveStateDict(Path dir, Map<String, Tensor> stateDict) {
        saveStateDict(dir, stateDict, DEFAULT_MAX_SHARD_BYTES);
    }

    /**
     * Writes {@code stateDict} into {@code dir} (created if missing) as {@code model.safetensors},
     * or as shards of at most {@code maxShardBytes} plus {@code model.safetensors.index.json}.
     * Pass a {@code LinkedHashMap} in module order to get transformers' shard contents.
     */
    public static void saveStateDict(Path dir, Map<String, Tensor> stateDict, long maxShardBytes) {
        List<Sized> sized = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : stateDict.entrySet()) {
            if (e.getValue() == null) {
                throw error(dir, e.getKey(), "tensor is null");
            }
            sized.add(new Sized(e.getKey(), e.getValue().numel(), e.getValue().numel() * e.getValue().dtype().byteSize()));
        }
        writeShards(dir, sized, maxShardBytes, (file, names) -> {
            Map<String, Tensor> shard = new LinkedHashMap<>();
            names.forEach(n -> shard.put(n, stateDict.get(n)));
            SafeTensors.write(file, shard, null);
        });
    }

    /** A tensor as sharding sees it. */
    record Sized(String name, long numel, long bytes) {}

    /** Writes one shard file holding {@code names}. */
    @FunctionalInterface
    interface ShardWriter {
        void write(Path file, List<String> names);
    }

    /**
     * Shards {@code tensors} (in order) as transformers does, writes each shard through
     * {@code writer}, then the index when there is more than one, and deletes stale files.
     */
    static void writeShards(Path dir, List<Sized> tensors, long maxShardBytes, ShardWriter writer) {
        if (maxShardBytes <= 0) {
            throw error(dir, "maxShardBytes must be positive, got " + maxShardBytes);
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw IoErrors.io(dir, e);
        }
        List<List<String>> shards = new ArrayList<>();
        List<String> current = new ArrayList<>();
        long currentBytes = 0;
        long totalBytes = 0;
        long totalParameters = 0;
        for (Sized t : tensors) {
            totalBytes += t.bytes();
            totalParameters += t.numel();
            if (t.bytes() > maxShardBytes) {
                shards.add(List.of(t.name()));
                continue;
            }
            if (currentBytes + t.bytes() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                currentBytes = 0;
            }
            current.add(t.name());
            currentBytes += t.bytes();
        }
        if (!current.isEmpty() || shards.isEmpty()) {
            shards.add(current);
        }

        List<String> written = new ArrayList<>();
        if (shards.size() == 1) {
            writer.write(dir.resolve(WEIGHTS), shards.getFirst());
            written.add(WEIGHTS);
        } else {
            SortedMap<String, String> weightMap = new TreeMap<>();
            for (int i = 0; i < shards.size(); i++) {
                String file = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                writer.write(dir.resolve(file), shards.get(i));
                written.add(file);
                for (String name : shards.get(i)) {
                    weightMap.put(name, file);
                }
            }
            Map<String, Object> index = Map.of(
                    "metadata", Map.of("total_parameters", totalParameters, "total_size", totalBytes),
                    "weight_map", weightMap);
            AtomicFiles.writeString(dir.resolve(INDEX), PythonJson.dumps(index) + "\n");
            written.add(INDEX);
        }
        deleteStale(dir, written);
    }

    /** Removes what an earlier save left that would shadow or confuse this one. */
    private static void deleteStale(Path dir, List<String> written) {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path p : entries) {
                String name = p.getFileName().toString();
                boolean ours = name.equals(WEIGHTS) || name.equals(INDEX) || SHARD_NAME.matcher(name).matches();
                if (ours && !written.contains(name) && Files.isRegularFile(p)) {
                    Files.delete(p);
                }
            }
        } catch (IOException e) {
            throw IoErrors.io(dir, e);
        }
    }

    private static WeightFolderReader openSharded(Path dir, Path index) {
        SortedMap<String, String> weightMap = readWeightMap(index);
        Path root = dir.toAbsolutePath().normalize();
        Map<String, Path> shardPaths = new TreeMap<>();
        for (Map.Entry<String, String> e : weightMap.entrySet()) {
            shardPaths.computeIfAbsent(e.getValue(), shard -> resolveShard(index, root, e.getKey(), shard));
        }
        List<SafeTensorsFile> opened = new ArrayList<>();
        try {
            SortedMap<String, SafeTensorsFile> fileOf = new TreeMap<>();
            for (Map.Entry<String, Path> shard : shardPaths.entrySet()) {
                SafeTensorsFile f = SafeTensors.open(shard.getValue());
                opened.add(f);
                for (String name : f.names()) {
                    String listed = weightMap.get(name);
                    if (listed == null) {
                        throw error(index, name, "shard " + shard.getKey() + " holds this tensor but weight_map does not list it");
                    }
                    if (!listed.equals(shard.getKey())) {
                        throw error(index, name, "tensor is in shard " + shard.getKey() + " but weight_map puts it in " + listed);
                    }
                    fileOf.put(name, f);
                }
            }
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                if (!fileOf.containsKey(e.getKey())) {
                    throw error(index, e.getKey(), "weight_map puts it in shard " + e.getValue() + ", which does not hold it");
                }
            }
            return new WeightFolderReader(dir, opened, fileOf);
        } catch (RuntimeException | Error e) {
            opened.forEach(SafeTensorsFile::close);
            throw e;
        }
    }

    private static SortedMap<String, String> readWeightMap(Path index) {
        JsonNode root;
        try {
            long size = Files.size(index);
            if (size > SafeTensorsHeader.MAX_HEADER_BYTES) {
                throw error(index, "index of " + size + " bytes exceeds the limit of " + SafeTensorsHeader.MAX_HEADER_BYTES);
            }
            root = Json.parse(Json.utf8(Files.readAllBytes(index)));
        } catch (CharacterCodingException e) {
            throw error(index, "not valid UTF-8");
        } catch (JsonProcessingException e) {
            throw error(index, "not valid JSON: " + Json.describe(e));
        } catch (IOException e) {
            throw IoErrors.io(index, e);
        }
        JsonNode map = root.isObject() ? root.get("weight_map") : null;
        if (map == null || !map.isObject()) {
            throw error(index, "weight_map is missing or not a JSON object");
        }
        SortedMap<String, String> weightMap = new TreeMap<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
            if (!e.getValue().isTextual()) {
                throw error(index, e.getKey(), "weight_map value is not a shard file name");
            }
            weightMap.put(e.getKey(), e.getValue().textValue());
        }
        return weightMap;
    }

    /** The shard's path, which must be a relative path that stays inside the model folder. */
    private static Path resolveShard(Path index, Path root, String tensor, String shard) {
        Path relative;
        try {
            relative = Path.of(shard);
        } catch (InvalidPathException e) {
            throw error(index, tensor, "shard " + IoErrors.quote(shard) + " is not a valid path");
        }
        Path resolved = root.resolve(relative).normalize();
        if (shard.isEmpty() || relative.isAbsolute() || !resolved.startsWith(root) || resolved.equals(root)) {
            throw error(index, tensor, "shard " + IoErrors.quote(shard) + " points outside the model folder");
        }
        if (!Files.isRegularFile(resolved)) {
            throw error(index, tensor, "shard " + IoErrors.quote(shard) + " is missing");
        }
        return resolved;
    }
}
