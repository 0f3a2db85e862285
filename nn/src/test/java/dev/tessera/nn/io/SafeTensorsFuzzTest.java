package dev.tessera.nn.io;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.fail;
import static org.quicktheories.QuickTheory.qt;
import static org.quicktheories.generators.SourceDSL.integers;
import static org.quicktheories.generators.SourceDSL.longs;

import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Whatever bytes {@code open} is given, the only failure that comes out is a one-line TesseraException. */
class SafeTensorsFuzzTest {
    @TempDir
    Path dir;

    private byte[] valid;

    /** A valid file holding every kind of entry: in-place dtypes, converted ones, F8, a scalar. */
    @BeforeEach
    void writeAValidFile() throws IOException {
        Map<String, SafeTensors.RawTensor> raw = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : Map.of(
                "a.weight", Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3),
                "b.ids", Tensor.ofLongs(new long[] {7, 8}, 2),
                "c.scalar", Tensor.scalar(3)).entrySet()) {
            Tensor t = e.getValue();
            raw.put(e.getKey(), new SafeTensors.RawTensor(t.dtype().safetensorsName(), t.shape(), t.dataSegment()));
        }
        raw.put("d.f64", new SafeTensors.RawTensor("F64", new int[] {2}, MemorySegment.ofArray(new byte[16])));
        raw.put("e.i8", new SafeTensors.RawTensor("I8", new int[] {3}, MemorySegment.ofArray(new byte[] {1, -2, 3})));
        raw.put("f.f8", new SafeTensors.RawTensor("F8_E5M2", new int[] {1, 1}, MemorySegment.ofArray(new byte[] {60})));
        Path p = dir.resolve("valid.safetensors");
        SafeTensors.writeRaw(p, raw, Map.of("k", "v"));
        valid = Files.readAllBytes(p);
    }

    @Test
    void randomBytesOnlyEverRaiseTesseraException() {
        Path p = dir.resolve("random.safetensors");
        qt().withExamples(400).forAll(integers().between(0, 400), longs().all(), integers().between(0, 2)).checkAssert((size, seed, lengthKind) -> {
            SplittableRandom rng = new SplittableRandom(seed);
            byte[] bytes = new byte[size];
            rng.nextBytes(bytes);
            if (size >= 8 && lengthKind > 0) {
                // Mostly a plausible header length, so parsing gets past the first check.
                long n = lengthKind == 1 ? rng.nextInt(size - 7) : size - 8;
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n);
            }
            openAndReadEverything(p, bytes);
        });
    }

    @Test
    void randomJsonLikeHeadersOnlyEverRaiseTesseraException() {
        Path p = dir.resolve("json.safetensors");
        String alphabet = "{}[]\":,0123456789-.eE aw_FIUBOL3264816xtdypshnfs\\u";
        qt().withExamples(400).forAll(integers().between(0, 120), longs().all(), integers().between(0, 64)).checkAssert((length, seed, data) -> {
            SplittableRandom rng = new SplittableRandom(seed);
            StringBuilder sb = new StringBuilder("{");
            for (int i = 0; i < length; i++) {
                sb.append(alphabet.charAt(rng.nextInt(alphabet.length())));
            }
            openAndReadEverything(p, StBytes.file(sb.toString(), data));
        });
    }

    @Test
    void singleByteMutationsOfAValidFileOnlyEverRaiseTesseraException() {
        Path p = dir.resolve("mutated.safetensors");
        qt().withExamples(600).forAll(integers().between(0, valid.length - 1), integers().between(0, 255)).checkAssert((at, value) -> {
            byte[] bytes = valid.clone();
            bytes[at] = (byte) (int) value;
            openAndReadEverything(p, bytes);
        });
    }

    @Test
    void lengthMutationsOfAValidFileOnlyEverRaiseTesseraException() {
        Path p = dir.resolve("cut.safetensors");
        qt().withExamples(300).forAll(integers().between(0, valid.length + 16), longs().all(), integers().between(0, 3)).checkAssert((length, declared, kind) -> {
            byte[] bytes = Arrays.copyOf(valid, length);
            if (kind == 1 && length >= 8) {
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, declared);
            } else if (kind == 2 && length >= 8) {
                long n = StBytes.readU64(valid);
                ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, n + (declared % 17) - 8);
            }
            openAndReadEverything(p, bytes);
        });
    }

    /** Opens the bytes and, if they are accepted, reads every tensor every way there is. */
    private static void openAndReadEverything(Path p, byte[] bytes) {
        try {
            Files.write(p, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (SafeTensorsFile f = SafeTensors.open(p); Scope _ = Scope.open()) {
            f.metadata();
            for (String name : f.names()) {
                f.shape(name);
                f.bytes(name).toArray(ValueLayout.JAVA_BYTE);
                if (SafeTensorsDType.byName(f.dtypeName(name)).tessera != null) {
                    f.tensor(name).contiguous();
                }
                if (!f.dtypeName(name).startsWith("F8")) {
                    f.load(name).release();
                }
            }
        } catch (TesseraException e) {
            assertFalse(e.getMessage().contains("\n"), e.getMessage());
            if (!e.getMessage().startsWith(p + ": ")) {
                fail("message does not name the file: " + e.getMessage());
            }
        } catch (Throwable t) {
            fail("open(" + bytes.length + " bytes) threw " + t, t);
        }
    }
}
