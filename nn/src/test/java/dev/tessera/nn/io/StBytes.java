package dev.tessera.nn.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.TesseraException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.function.Executable;

/** Hand-made safetensors bytes for tests, including ones no honest writer would produce. */
final class StBytes {
    private StBytes() {}

    /** {@code u64 length | header | dataBytes zero bytes}, the length being the header's real length. */
    static byte[] file(String header, int dataBytes) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return withLength(h.length, h, new byte[dataBytes]);
    }

    /** {@code u64 declaredLength | parts...}, whatever the parts really hold. */
    static byte[] withLength(long declaredLength, byte[]... parts) {
        int total = 8;
        for (byte[] p : parts) {
            total += p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN).putLong(declaredLength);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }

    static Path write(Path path, byte[] bytes) {
        try {
            return Files.write(path, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Runs {@code body}, expecting a one-line TesseraException that starts with {@code file} and
     * contains every one of {@code phrases} (the tensor's quoted name, the rule).
     */
    static String assertRejects(Path file, Executable body, String... phrases) {
        TesseraException e = assertThrows(TesseraException.class, body);
        String m = e.getMessage();
        assertTrue(m.startsWith(file + ": "), () -> "message should start with the file: " + m);
        assertFalse(m.contains("\n") || m.contains("\r"), () -> "message should be one line: " + m);
        for (String p : phrases) {
            assertTrue(m.contains(p), () -> "message should contain \"" + p + "\": " + m);
        }
        return m;
    }

    static long readU64(byte[] file) {
        return ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    }

    static String header(byte[] file) {
        int n = (int) readU64(file);
        return new String(file, 8, n, StandardCharsets.UTF_8);
    }

    static void assertSameBytes(byte[] expected, byte[] actual) {
        assertEquals(expected.length, actual.length, "length");
        for (int i = 0; i < expected.length; i++) {
            int at = i;
            assertEquals(expected[i], actual[i], () -> "byte " + at);
        }
    }
}
