package dev.tessera.nn.io;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.HexFormat;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Whole-file writes that readers never see half done: the content goes to a temporary file in
 * the same folder, is flushed to disk, then renamed over the target in one step.
 */
public final class AtomicFiles {
    /** ByteBuffer views are int-sized, so large segments go out in slices. */
    private static final long CHUNK_BYTES = 1L << 26;

    /** Writes the whole content to the temporary file's channel. */
    @FunctionalInterface
    public interface Body {
        void writeTo(FileChannel channel) throws IOException;
    }

    private AtomicFiles() {}

    /** Writes {@code target} through {@code body}; a failure leaves the old file (or none) and throws a one-line error. */
    public static void write(Path target, Body body) {
        Path abs = target.toAbsolutePath();
        // A name of our own (not createTempFile) so the file gets the usual umask permissions.
        Path tmp = abs.resolveSibling("." + abs.getFileName() + "."
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                body.writeTo(channel);
                channel.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw IoErrors.io(target, e);
        } catch (RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /** Writes {@code text} as UTF-8 to {@code target}, atomically. */
    public static void writeString(Path target, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        write(target, channel -> writeFully(channel, ByteBuffer.wrap(bytes)));
    }

    static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    static void writeFully(FileChannel channel, MemorySegment segment) throws IOException {
        for (long at = 0; at < segment.byteSize(); at += CHUNK_BYTES) {
            writeFully(channel, segment.asSlice(at, Math.min(CHUNK_BYTES, segment.byteSize() - at)).asByteBuffer());
        }
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // The write already failed; that error is the one to report.
        }
    }
}
