package dev.tessera.nn.io;

import static dev.tessera.nn.io.StBytes.assertRejects;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WeightFoldersTest {
    private static final Path GPT2_TINY = Path.of("src/test/resources/fixtures/gpt2-tiny");

    @TempDir
    Path dir;

    /** a 16 B, b 16 B, c 16 B, d 40 B (F32), e 8 B (I64), in module order. */
    private static Map<String, Tensor> stateDict() {
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("model.a", Tensor.of(new float[] {1, 2, 3, 4}, 4));
        sd.put("model.b", Tensor.of(new float[] {5, 6, 7, 8}, 2, 2));
        sd.put("model.c", Tensor.of(new float[] {9, 10, 11, 12}, 4));
        sd.put("model.d", Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 10));
        sd.put("model.e", Tensor.ofLongs(new long[] {42}, 1));
        return sd;
    }

    private List<String> files(Path folder) throws IOException {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void assertSameTensors(Map<String, Tensor> expected, WeightFolderReader ckpt) {
        assertEquals(expected.keySet().stream().sorted().toList(), ckpt.names());
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            Tensor t = ckpt.tensor(e.getKey());
            assertEquals(e.getValue().dtype(), t.dtype());
            assertArrayEquals(e.getValue().shape(), t.shape());
            assertEquals(-1, e.getValue().dataSegment().mismatch(t.dataSegment()), e.getKey());
        }
    }

    @Test
    void aSmallStateDictIsOneModelSafetensors() throws IOException {
        WeightFolders.saveStateDict(dir, stateDict());
        assertEquals(List.of("model.safetensors"), files(dir));
        try (WeightFolderReader ckpt = WeightFolders.open(dir)) {
            assertSameTensors(stateDict(), ckpt);
        }
        try (SafeTensorsFile f = SafeTensors.open(dir.resolve("model.safetensors"))) {
            assertEquals(Map.of("format", "pt"), f.metadata());
        }
    }

    @Test
    void shardsFollowTransformersSplitting() throws IOException {
        WeightFolders.saveStateDict(dir, stateDict(), 32);
        // As huggingface_hub splits it: [a b] fill 32 B; c starts a new shard; d (40 B > 32) goes alone
        // at once, so it is shard 2; e joins c, whose shard closes last.
        assertEquals(List.of("model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors", "model.safetensors.index.json"), files(dir));
        try (SafeTensorsFile s1 = SafeTensors.open(dir.resolve("model-00001-of-00003.safetensors"));
                SafeTensorsFile s2 = SafeTensors.open(dir.resolve("model-00002-of-00003.safetensors"));
                SafeTensorsFile s3 = SafeTensors.open(dir.resolve("model-00003-of-00003.safetensors"))) {
            assertEquals(List.of("model.a", "model.b"), s1.names());
            assertEquals(List.of("model.d"), s2.names());
            assertEquals(List.of("model.c", "model.e"), s3.names());
            assertEquals(Map.of("format", "pt"), s3.metadata());
        }
        try (WeightFolderReader ckpt = WeightFolders.open(dir)) {
            assertSameTensors(stateDict(), ckpt);
        }
    }

    @Test
    void indexIsWrittenAsTransformersWritesIt() throws IOException {
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("a.bias", Tensor.of(new float[] {1, 2, 3, 4}, 4));
        sd.put("b.weight", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3));
        WeightFolders.saveStateDict(dir, sd, 20);
        // huggingface_hub's split puts b.weight (24 B > 20) in a shard of its own at once, so it is
        // shard 1; the index is json.dumps(index, indent=2, sort_keys=True) + "\n".
        assertEquals("""
                {
                  "metadata": {
                    "total_parameters": 10,
                    "total_size": 40
                  },
                  "weight_map": {
                    "a.bias": "model-00002-of-00002.safetensors",
                    "b.weight": "model-00001-of-00002.safetensors"
                  }
                }
                """, Files.readString(dir.resolve("model.safetensors.index.json")));
    }

    @Test
    void resavingRemovesFilesOfTheEarlierLayout() throws IOException {
        WeightFolders.saveStateDict(dir, stateDict(), 32);
        Files.writeString(dir.resolve("config.json"), "{}");
        WeightFolders.saveStateDict(dir, stateDict(), 1_000);
        assertEquals(List.of("config.json", "model.safetensors"), files(dir));
        WeightFolders.saveStateDict(dir, stateDict(), 48);
        assertEquals(List.of("config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json"), files(dir));
        try (WeightFolderReader ckpt = WeightFolders.open(dir)) {
            assertSameTensors(stateDict(), ckpt);
        }
    }

    @Test
    void loadStateDictCopiesOutliveTheMappingAndBelongToTheScope() {
        WeightFolders.saveStateDict(dir, stateDict(), 32);
        try (Scope _ = Scope.open()) {
            Map<String, Tensor> loaded = WeightFolders.loadStateDict(dir);
            assertEquals(List.of("model.a", "model.b", "model.c", "model.d", "model.e"), List.copyOf(loaded.keySet()));
            assertArrayEquals(new float[] {5, 6, 7, 8}, loaded.get("model.b").toFloatArray());
            assertEquals(DType.I64, loaded.get("model.e").dtype());
            assertEquals(42f, loaded.get("model.e").item());
        }
    }

    @Test
    void stateDictReadsEveryTensorInPlaceUntilClose() {
        WeightFolders.saveStateDict(dir, stateDict(), 32);
        Map<String, Tensor> inPlace;
        try (WeightFolderReader ckpt = WeightFolders.open(dir)) {
            inPlace = ckpt.stateDict();
            assertEquals(List.of("model.a", "model.b", "model.c", "model.d", "model.e"), List.copyOf(inPlace.keySet()));
            assertArrayEquals(new float[] {9, 10, 11, 12}, inPlace.get("model.c").toFloatArray());
        }
        assertThrows(IllegalStateException.class, () -> inPlace.get("model.c").toFloatArray(), "unmapped on close");
    }

    @Test
    void readsTheFixtureModelFolder() {
        try (WeightFolderReader ckpt = WeightFolders.open(GPT2_TINY)) {
            assertEquals(28, ckpt.names().size());
            assertTrue(ckpt.contains("transformer.wte.weight"));
            assertEquals("F32", ckpt.dtypeName("transformer.wte.weight"));
            assertArrayEquals(new int[] {96, 32}, ckpt.shape("transformer.wte.weight"));
            assertFalse(ckpt.contains("input_ids"), "reference.safetensors is not part of the model");
        }
    }

    @Test
    void modelSafetensorsWinsOverAnIndexAsInTransformers() throws IOException {
        WeightFolders.saveStateDict(dir, stateDict(), 32);
        Map<String, Tensor> other = Map.of("only", Tensor.of(new float[] {1}, 1));
        SafeTensors.write(dir.resolve("model.safetensors"), other);
        try (WeightFolderReader ckpt = WeightFolders.open(dir)) {
            assertEquals(List.of("only"), ckpt.names());
        }
    }

    @Test
    void unknownTensorIsAClearError() {
        WeightFolders.saveStateDict(dir, stateDict());
        try (WeightFolderReader ckpt = WeightFolders.open(dir)) {
            assertRejects(dir, () -> ckpt.tensor("model.z"), "'model.z'", "no such tensor");
        }
    }

    @Test
    void folderWithoutWeights() throws IOException {
        assertRejects(dir, () -> WeightFolders.open(dir), "no model.safetensors or model.safetensors.index.json");
        Path missing = dir.resolve("nope");
        assertRejects(missing, () -> WeightFolders.open(missing), "no such folder");
        Path file = Files.writeString(dir.resolve("f"), "x");
        assertRejects(file, () -> WeightFolders.open(file), "not a folder");
    }

    /** A two-shard folder whose index the test then replaces. */
    private Path index(String json) throws IOException {
        WeightFolders.saveStateDict(dir, stateDict(), 48);
        return Files.writeString(dir.resolve("model.safetensors.index.json"), json);
    }

    private static final String SHARD1 = "model-00001-of-00002.safetensors";
    private static final String SHARD2 = "model-00002-of-00002.safetensors";

    /** The honest weight map of {@link #index}, with {@code replace} applied to its JSON text. */
    private static String weightMap(String... replace) {
        String json = "{\"weight_map\":{\"model.a\":\"" + SHARD1 + "\",\"model.b\":\"" + SHARD1 + "\",\"model.c\":\"" + SHARD1
                + "\",\"model.d\":\"" + SHARD2 + "\",\"model.e\":\"" + SHARD2 + "\"}}";
        for (int i = 0; i < replace.length; i += 2) {
            json = json.replace(replace[i], replace[i + 1]);
        }
        return json;
    }

    @Test
    void theHonestIndexOfTheseTestsOpens() throws IOException {
        index(weightMap());
        try (WeightFolderReader ckpt = WeightFolders.open(dir)) {
            assertSameTensors(stateDict(), ckpt);
        }
    }

    @Test
    void indexPointingOutsideTheFolder() throws IOException {
        Path outside = dir.resolveSibling(dir.getFileName() + "-outside.safetensors");
        SafeTensors.write(outside, Map.of("model.e", Tensor.ofLongs(new long[] {42}, 1)));
        try {
            Path idx = index(weightMap("\"model.e\":\"" + SHARD2, "\"model.e\":\"../" + outside.getFileName()));
            assertRejects(idx, () -> WeightFolders.open(dir), "tensor 'model.e'", "points outside the model folder");
            index(weightMap("\"model.e\":\"" + SHARD2, "\"model.e\":\"" + outside.toAbsolutePath()));
            assertRejects(idx, () -> WeightFolders.open(dir), "tensor 'model.e'", "points outside the model folder");
            index(weightMap("\"model.e\":\"" + SHARD2, "\"model.e\":\"sub/../.."));
            assertRejects(idx, () -> WeightFolders.open(dir), "points outside the model folder");
        } finally {
            Files.deleteIfExists(outside);
        }
    }

    @Test
    void indexPointingAtAMissingShard() throws IOException {
        Path idx = index(weightMap("\"model.e\":\"" + SHARD2, "\"model.e\":\"model-00003-of-00003.safetensors"));
        assertRejects(idx, () -> WeightFolders.open(dir), "tensor 'model.e'", "shard 'model-00003-of-00003.safetensors' is missing");
    }

    @Test
    void aNameInTwoShards() throws IOException {
        Path idx = index(weightMap());
        Map<String, Tensor> shard2 = new LinkedHashMap<>();
        shard2.put("model.d", stateDict().get("model.d"));
        shard2.put("model.e", stateDict().get("model.e"));
        shard2.put("model.a", stateDict().get("model.a"));
        SafeTensors.write(dir.resolve(SHARD2), shard2);
        assertRejects(idx, () -> WeightFolders.open(dir), "tensor 'model.a'", "is in shard " + SHARD2 + " but weight_map puts it in " + SHARD1);
    }

    @Test
    void indexListingATensorItsShardDoesNotHold() throws IOException {
        Path idx = index(weightMap("}}", ",\"model.z\":\"" + SHARD2 + "\"}}"));
        assertRejects(idx, () -> WeightFolders.open(dir), "tensor 'model.z'", "which does not hold it");
    }

    @Test
    void shardHoldingATensorTheIndexDoesNotList() throws IOException {
        Path idx = index(weightMap(",\"model.e\":\"" + SHARD2 + "\"", ""));
        assertRejects(idx, () -> WeightFolders.open(dir), "tensor 'model.e'", "weight_map does not list it");
    }

    @Test
    void malformedIndexes() throws IOException {
        Path idx = index("{\"weight_map\": ");
        assertRejects(idx, () -> WeightFolders.open(dir), "not valid JSON");
        index("{\"metadata\": {}}");
        assertRejects(idx, () -> WeightFolders.open(dir), "weight_map is missing or not a JSON object");
        index("[]");
        assertRejects(idx, () -> WeightFolders.open(dir), "weight_map is missing");
        index("{\"weight_map\": {\"model.a\": 3}}");
        assertRejects(idx, () -> WeightFolders.open(dir), "tensor 'model.a'", "not a shard file name");
        index(weightMap("}}", ",\"model.a\":\"" + SHARD2 + "\"}}"));
        assertRejects(idx, () -> WeightFolders.open(dir), "not valid JSON", "Duplicate field 'model.a'");
    }

    @Test
    void aBadShardIsReportedByItsOwnName() throws IOException {
        index(weightMap());
        Path shard = dir.resolve(SHARD2);
        StBytes.write(shard, new byte[] {1, 2, 3});
        assertRejects(shard, () -> WeightFolders.open(dir), "too short");
    }

    @Test
    void maxShardBytesMustBePositive() {
        assertRejects(dir, () -> WeightFolders.saveStateDict(dir, stateDict(), 0), "maxShardBytes must be positive");
    }
}
