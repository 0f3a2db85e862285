package dev.tessera.nn.io;

import static dev.tessera.nn.io.StBytes.assertRejects;
import static dev.tessera.nn.io.StBytes.assertSameBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;

import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsRoundTripTest {
    /**
     * What Python's safetensors 0.8.0 {@code save()} wrote for {@link #pythonTensors()} with metadata
     * {@code {"format": "pt", "note": "hello"}} (one tensor per dtype, a scalar, an empty tensor and
     * a name with quotes, a backslash, a newline and a non-ASCII letter).
     */
    private static final String PYTHON_FILE_BASE64 =
            "oAMAAAAAAAB7Il9fbWV0YWRhdGFfXyI6eyJmb3JtYXQiOiJwdCIsIm5vdGUiOiJoZWxsbyJ9LCJ0Lmk2NCI6eyJkdHlwZSI6Ikk2NCIsInNoYXBlIjpbMl0sImRhdGFfb2Zmc2V0cyI6WzAsMTZdfSwidC5mNjQiOnsiZHR5cGUiOiJGNjQiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOlsxNiw0MF19LCJzY2FsYXIiOnsiZHR5cGUiOiJGMzIiLCJzaGFwZSI6W10sImRhdGFfb2Zmc2V0cyI6WzQwLDQ0XX0sInQuZjMyIjp7ImR0eXBlIjoiRjMyIiwic2hhcGUiOlsyLDNdLCJkYXRhX29mZnNldHMiOls0NCw2OF19LCJvZGQgXCJuYW1lXCJcXFxuw6kiOnsiZHR5cGUiOiJJMzIiLCJzaGFwZSI6WzJdLCJkYXRhX29mZnNldHMiOls2OCw3Nl19LCJ0LmkzMiI6eyJkdHlwZSI6IkkzMiIsInNoYXBlIjpbM10sImRhdGFfb2Zmc2V0cyI6Wzc2LDg4XX0sInQuYmYxNiI6eyJkdHlwZSI6IkJGMTYiLCJzaGFwZSI6WzEsM10sImRhdGFfb2Zmc2V0cyI6Wzg4LDk0XX0sInQuZjE2Ijp7ImR0eXBlIjoiRjE2Iiwic2hhcGUiOls1XSwiZGF0YV9vZmZzZXRzIjpbOTQsMTA0XX0sInQuaTE2Ijp7ImR0eXBlIjoiSTE2Iiwic2hhcGUiOlszLDFdLCJkYXRhX29mZnNldHMiOlsxMDQsMTEwXX0sInQuZjhfZTRtMyI6eyJkdHlwZSI6IkY4X0U0TTMiLCJzaGFwZSI6WzNdLCJkYXRhX29mZnNldHMiOlsxMTAsMTEzXX0sInQuZjhfZTVtMiI6eyJkdHlwZSI6IkY4X0U1TTIiLCJzaGFwZSI6WzAsNF0sImRhdGFfb2Zmc2V0cyI6WzExMywxMTNdfSwidC5pOCI6eyJkdHlwZSI6Ikk4Iiwic2hhcGUiOls3XSwiZGF0YV9vZmZzZXRzIjpbMTEzLDEyMF19LCJ0LnU4Ijp7ImR0eXBlIjoiVTgiLCJzaGFwZSI6WzIsMiwyXSwiZGF0YV9vZmZzZXRzIjpbMTIwLDEyOF19LCJ0LmJvb2wiOnsiZHR5cGUiOiJCT09MIiwic2hhcGUiOls1XSwiZGF0YV9vZmZzZXRzIjpbMTI4LDEzM119fSAgLFF2m8DlCi9UeZ7D6A0yVwAlSm+Uud4DKE1yl7zhBitQdZq/5AkuUwAAIEALMFV6n8TpDjNYfaLH7BE2W4Clyu8UOV4BAAAAAgAAADdcgabL8BU6X4SpziFGa5C12hY7YIWqz/QZPmNCZ4yx1vtuk7hNcpe84QYrWH2ix+wRNlsAAQABAA==";

    private static final String ODD_NAME = "odd \"name\"\\\n\u00e9";

    @TempDir
    Path dir;

    /** The tensors behind {@link #PYTHON_FILE_BASE64}: byte j of the i-th dtype's tensor is (11 i + 37 j) mod 256. */
    private static Map<String, SafeTensors.RawTensor> pythonTensors() {
        record Spec(String dtype, int size, int... shape) {}
        List<Spec> specs = List.of(new Spec("F64", 8, 3), new Spec("F32", 4, 2, 3), new Spec("F16", 2, 5), new Spec("BF16", 2, 1, 3),
                new Spec("I64", 8, 2), new Spec("I32", 4, 3), new Spec("I16", 2, 3, 1), new Spec("I8", 1, 7), new Spec("U8", 1, 2, 2, 2),
                new Spec("BOOL", 1, 5), new Spec("F8_E4M3", 1, 3), new Spec("F8_E5M2", 1, 0, 4));
        Map<String, SafeTensors.RawTensor> out = new LinkedHashMap<>();
        for (int i = 0; i < specs.size(); i++) {
            Spec s = specs.get(i);
            int n = s.size();
            for (int d : s.shape()) {
                n *= d;
            }
            byte[] b = new byte[n];
            for (int j = 0; j < n; j++) {
                b[j] = (byte) (s.dtype().equals("BOOL") ? j % 2 : 11 * i + 37 * j);
            }
            out.put("t." + s.dtype().toLowerCase(), new SafeTensors.RawTensor(s.dtype(), s.shape(), MemorySegment.ofArray(b)));
        }
        out.put("scalar", raw("F32", new int[0], le(4).putFloat(2.5f)));
        out.put(ODD_NAME, raw("I32", new int[] {2}, le(8).putInt(1).putInt(2)));
        return out;
    }

    private static SafeTensors.RawTensor raw(String dtype, int[] shape, ByteBuffer littleEndian) {
        return new SafeTensors.RawTensor(dtype, shape, MemorySegment.ofArray(littleEndian.array()));
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void writesTheSameBytesAsPythonSafetensors() throws IOException {
        Path p = dir.resolve("py.safetensors");
        SafeTensors.writeRaw(p, pythonTensors(), Map.of("note", "hello"));
        assertSameBytes(Base64.getDecoder().decode(PYTHON_FILE_BASE64), Files.readAllBytes(p));
    }

    @Test
    void readsEveryDtypeOfAPythonFile() {
        Path p = StBytes.write(dir.resolve("py.safetensors"), Base64.getDecoder().decode(PYTHON_FILE_BASE64));
        Map<String, SafeTensors.RawTensor> expected = pythonTensors();
        try (SafeTensorsFile f = SafeTensors.open(p)) {
            assertEquals(expected.keySet().stream().sorted().toList(), f.names());
            assertEquals(Map.of("format", "pt", "note", "hello"), f.metadata());
            for (Map.Entry<String, SafeTensors.RawTensor> e : expected.entrySet()) {
                assertEquals(e.getValue().dtype(), f.dtypeName(e.getKey()));
                assertArrayEquals(e.getValue().shape(), f.shape(e.getKey()));
                assertEquals(-1, e.getValue().bytes().mismatch(f.bytes(e.getKey())), e.getKey());
            }
            assertEquals(2.5f, f.tensor("scalar").item());
            assertArrayEquals(new long[] {1, 2}, f.tensor(ODD_NAME).toLongArray());
        }
    }

    @Test
    void everyTesseraDtypeRoundTripsBitExactInPlaceAndAsCopy() {
        SplittableRandom rng = new SplittableRandom(7);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (DType dtype : DType.values()) {
            tensors.put(dtype.name().toLowerCase(), randomTensor(rng, dtype, 3, 5));
        }
        Path p = dir.resolve("all.safetensors");
        SafeTensors.write(p, tensors, null);
        try (SafeTensorsFile f = SafeTensors.open(p); Scope _ = Scope.open()) {
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor inPlace = f.tensor(e.getKey());
                Tensor copy = f.load(e.getKey());
                for (Tensor t : List.of(inPlace, copy)) {
                    assertEquals(e.getValue().dtype(), t.dtype());
                    assertArrayEquals(new int[] {3, 5}, t.shape());
                    assertEquals(-1, e.getValue().dataSegment().mismatch(t.dataSegment()), e.getKey());
                }
                assertEquals(e.getValue().dtype().safetensorsName(), f.dtypeName(e.getKey()));
            }
        }
    }

    @Test
    void everyOtherSafetensorsDtypeRoundTripsAsRawBytes() {
        SplittableRandom rng = new SplittableRandom(11);
        Map<String, SafeTensors.RawTensor> raw = new LinkedHashMap<>();
        for (String dtype : List.of("F64", "I16", "I8", "F8_E4M3", "F8_E5M2")) {
            raw.put(dtype, new SafeTensors.RawTensor(dtype, new int[] {2, 3}, randomBytes(rng, 6 * SafeTensorsDType.byName(dtype).byteSize)));
        }
        Path p = dir.resolve("raw.safetensors");
        SafeTensors.writeRaw(p, raw, null);
        try (SafeTensorsFile f = SafeTensors.open(p)) {
            for (Map.Entry<String, SafeTensors.RawTensor> e : raw.entrySet()) {
                assertEquals(e.getKey(), f.dtypeName(e.getKey()));
                assertEquals(-1, e.getValue().bytes().mismatch(f.bytes(e.getKey())), e.getKey());
            }
        }
    }

    @Test
    void randomTensorsRoundTripBitExact() {
        Path p = dir.resolve("prop.safetensors");
        qt().withExamples(60).forAll(integers().between(0, 12), integers().between(1, 1 << 20)).checkAssert((count, seed) -> {
            SplittableRandom rng = new SplittableRandom(seed);
            Map<String, SafeTensors.RawTensor> raw = new LinkedHashMap<>();
            SafeTensorsDType[] dtypes = SafeTensorsDType.values();
            for (int i = 0; i < count; i++) {
                SafeTensorsDType dtype = dtypes[rng.nextInt(dtypes.length)];
                int[] shape = new int[rng.nextInt(4)];
                int n = 1;
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = rng.nextInt(5);
                    n *= shape[d];
                }
                raw.put("layer." + rng.nextInt(1000) + ".w" + i, new SafeTensors.RawTensor(dtype.name(), shape, randomBytes(rng, n * dtype.byteSize)));
            }
            SafeTensors.writeRaw(p, raw, Map.of("seed", Integer.toString(seed)));
            try (SafeTensorsFile f = SafeTensors.open(p)) {
                assertEquals(raw.keySet().stream().sorted().toList(), f.names());
                assertEquals(Integer.toString(seed), f.metadata().get("seed"));
                for (Map.Entry<String, SafeTensors.RawTensor> e : raw.entrySet()) {
                    assertEquals(e.getValue().dtype(), f.dtypeName(e.getKey()));
                    assertArrayEquals(e.getValue().shape(), f.shape(e.getKey()));
                    assertEquals(-1, e.getValue().bytes().mismatch(f.bytes(e.getKey())));
                }
            }
        });
    }

    @Test
    void headerIsPaddedWithSpacesToAMultipleOfEight() throws IOException {
        for (int nameLength = 1; nameLength <= 9; nameLength++) {
            Path p = dir.resolve("pad" + nameLength + ".safetensors");
            SafeTensors.write(p, Map.of("x".repeat(nameLength), Tensor.of(new float[] {1}, 1)), null);
            byte[] file = Files.readAllBytes(p);
            long n = StBytes.readU64(file);
            assertEquals(0, n % 8);
            String header = StBytes.header(file);
            assertTrue(header.stripTrailing().endsWith("}"));
            assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '));
            assertEquals(n + 8 + 4, file.length);
        }
    }

    @Test
    void headerPutsMetadataFirstThenTensorsWidestDtypeFirstThenByName() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("b", Tensor.of(new float[] {1}, 1));
        tensors.put("a", Tensor.of(new float[] {2}, 1));
        tensors.put("c", Tensor.ofLongs(new long[] {3}, 1));
        tensors.put("d", Tensor.of(new float[] {4}, 1).cast(DType.BF16));
        Path p = dir.resolve("order.safetensors");
        SafeTensors.write(p, tensors, Map.of("z", "last", "a", "first"));
        String header = StBytes.header(Files.readAllBytes(p)).stripTrailing();
        assertEquals("{\"__metadata__\":{\"a\":\"first\",\"format\":\"pt\",\"z\":\"last\"},"
                + "\"c\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]},"
                + "\"d\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[16,18]}}", header);
    }

    @Test
    void formatPtIsAddedUnlessTheCallerNamesAFormat() {
        Path p = dir.resolve("meta.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.of(new float[] {1}, 1)));
        try (SafeTensorsFile f = SafeTensors.open(p)) {
            assertEquals(Map.of("format", "pt"), f.metadata());
        }
        SafeTensors.write(p, Map.of("w", Tensor.of(new float[] {1}, 1)), Map.of("format", "mlx"));
        try (SafeTensorsFile f = SafeTensors.open(p)) {
            assertEquals(Map.of("format", "mlx"), f.metadata());
        }
    }

    @Test
    void nonContiguousTensorsAreWrittenInRowMajorOrder() {
        Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).t();
        Path p = dir.resolve("t.safetensors");
        SafeTensors.write(p, Map.of("t", t));
        try (SafeTensorsFile f = SafeTensors.open(p)) {
            assertArrayEquals(new int[] {3, 2}, f.shape("t"));
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, f.tensor("t").toFloatArray());
        }
    }

    @Test
    void writeReplacesAnExistingFileAndLeavesNoTemporaryFiles() throws IOException {
        Path p = dir.resolve("w.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.of(new float[] {1}, 1)));
        try (SafeTensorsFile before = SafeTensors.open(p)) {
            SafeTensors.write(p, Map.of("w", Tensor.of(new float[] {2, 3}, 2)));
            assertEquals(1f, before.tensor("w").item(), "a reader keeps the file it mapped");
        }
        try (SafeTensorsFile after = SafeTensors.open(p); Stream<Path> files = Files.list(dir)) {
            assertArrayEquals(new float[] {2, 3}, after.tensor("w").toFloatArray());
            assertEquals(List.of(p), files.toList());
        }
    }

    @Test
    void aFailedWriteLeavesTheOldFileAndNoTemporaryFiles() throws IOException {
        Path p = dir.resolve("keep.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.of(new float[] {1}, 1)));
        byte[] before = Files.readAllBytes(p);
        SafeTensors.RawTensor bad = new SafeTensors.RawTensor("F32", new int[] {2}, MemorySegment.ofArray(new byte[7]));
        assertRejects(p, () -> SafeTensors.writeRaw(p, Map.of("bad", bad), null), "'bad'", "needs 8 bytes, got 7");
        assertArrayEquals(before, Files.readAllBytes(p));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(p), files.toList());
        }
    }

    @Test
    void writeRejectsTheReservedMetadataNameAndUnknownDtypes() {
        Path p = dir.resolve("x.safetensors");
        MemorySegment four = MemorySegment.ofArray(new byte[4]);
        assertRejects(p, () -> SafeTensors.writeRaw(p, Map.of("__metadata__", new SafeTensors.RawTensor("F32", new int[] {1}, four)), null),
                "'__metadata__'", "reserved");
        assertRejects(p, () -> SafeTensors.writeRaw(p, Map.of("q", new SafeTensors.RawTensor("Q4", new int[] {1}, four)), null),
                "'q'", "unknown dtype 'Q4'");
    }

    @Test
    void loadConvertsF64ToF32AndSmallIntegersToI32() {
        Path p = dir.resolve("conv.safetensors");
        SafeTensors.writeRaw(p, Map.of(
                "f64", raw("F64", new int[] {3}, le(24).putDouble(1.5).putDouble(-0.1).putDouble(1e300)),
                "i16", raw("I16", new int[] {3, 1}, le(6).putShort((short) -32768).putShort((short) 7).putShort((short) 32767)),
                "i8", raw("I8", new int[] {2, 2}, ByteBuffer.wrap(new byte[] {-128, -1, 0, 127}))), null);
        try (SafeTensorsFile f = SafeTensors.open(p); Scope _ = Scope.open()) {
            Tensor a = f.load("f64");
            assertEquals(DType.F32, a.dtype());
            assertArrayEquals(new float[] {1.5f, (float) -0.1, Float.POSITIVE_INFINITY}, a.toFloatArray());
            Tensor b = f.load("i16");
            assertEquals(DType.I32, b.dtype());
            assertArrayEquals(new int[] {3, 1}, b.shape());
            assertArrayEquals(new long[] {-32768, 7, 32767}, b.toLongArray());
            Tensor c = f.load("i8");
            assertEquals(DType.I32, c.dtype());
            assertArrayEquals(new long[] {-128, -1, 0, 127}, c.toLongArray());
        }
    }

    @Test
    void dtypesWithoutATesseraTypeAreNotReadInPlaceAndF8IsNotConverted() {
        Path p = dir.resolve("f8.safetensors");
        MemorySegment two = MemorySegment.ofArray(new byte[] {0x38, 0x40});
        SafeTensors.writeRaw(p, Map.of("e4", new SafeTensors.RawTensor("F8_E4M3", new int[] {2}, two)), null);
        try (SafeTensorsFile f = SafeTensors.open(p)) {
            assertRejects(p, () -> f.tensor("e4"), "'e4'", "F8_E4M3 has no Tessera dtype", "bytes()");
            assertRejects(p, () -> f.load("e4"), "'e4'", "no conversion");
            assertEquals(0x40, f.bytes("e4").get(ValueLayout.JAVA_BYTE, 1));
        }
    }

    @Test
    void unknownNamesAndUseAfterCloseAreClearErrors() {
        Path p = dir.resolve("c.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.of(new float[] {1}, 1)));
        SafeTensorsFile f = SafeTensors.open(p);
        assertRejects(p, () -> f.tensor("nope"), "'nope'", "no such tensor");
        f.close();
        f.close();
        assertRejects(p, () -> f.tensor("w"), "used after close()");
        assertRejects(p, f::names, "used after close()");
    }

    @Test
    void loadedCopiesOutliveTheFileAndBelongToTheScope() {
        Path p = dir.resolve("copy.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.of(new float[] {1, 2}, 2)));
        Tensor copy;
        Tensor inPlace;
        try (Scope _ = Scope.open()) {
            try (SafeTensorsFile f = SafeTensors.open(p)) {
                copy = f.load("w");
                inPlace = f.tensor("w");
            }
            assertArrayEquals(new float[] {1, 2}, copy.toFloatArray());
            assertThrows(IllegalStateException.class, inPlace::toFloatArray, "the mapping is gone");
        }
        assertThrows(TesseraException.class, copy::toFloatArray, "the scope released the copy");
    }

    @Test
    void inPlaceTensorsFeedOpsThatRunOnWorkerThreads() {
        SplittableRandom rng = new SplittableRandom(3);
        float[] w = new float[256 * 256];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) rng.nextDouble(-1, 1);
        }
        Path p = dir.resolve("mm.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.of(w, 256, 256)));
        try (SafeTensorsFile f = SafeTensors.open(p); Scope _ = Scope.open()) {
            Tensor x = Tensor.ones(64, 256);
            assertArrayEquals(x.matmul(f.load("w")).toFloatArray(), x.matmul(f.tensor("w")).toFloatArray());
        }
    }

    @Test
    void inPlaceTensorsAreReadOnly() {
        Path p = dir.resolve("ro.safetensors");
        SafeTensors.write(p, Map.of("w", Tensor.of(new float[] {1, 2}, 2)));
        try (SafeTensorsFile f = SafeTensors.open(p)) {
            assertTrue(f.tensor("w").dataSegment().isReadOnly());
            assertTrue(f.bytes("w").isReadOnly());
        }
    }

    @Test
    void openRejectsMissingFilesAndFolders() {
        Path missing = dir.resolve("missing.safetensors");
        assertRejects(missing, () -> SafeTensors.open(missing), "no such file");
        assertRejects(dir, () -> SafeTensors.open(dir), "not a regular file");
    }

    private static Tensor randomTensor(SplittableRandom rng, DType dtype, int... shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        MemorySegment bytes = randomBytes(rng, n * dtype.byteSize());
        if (dtype == DType.BOOL) {
            for (int i = 0; i < n; i++) {
                bytes.set(ValueLayout.JAVA_BYTE, i, (byte) (bytes.get(ValueLayout.JAVA_BYTE, i) & 1));
            }
        }
        return Tensor.fromBytes(dtype, shape, bytes);
    }

    /** Random bytes: for float dtypes these include NaN payloads and denormals, which must survive. */
    private static MemorySegment randomBytes(SplittableRandom rng, int n) {
        MemorySegment s = Arena.ofAuto().allocate(Math.max(n, 1)).asSlice(0, n);
        for (int i = 0; i < n; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) rng.nextInt(256));
        }
        return s;
    }
}
