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
 * The one way Tessera writes a file: readers never see it half done. The content goes to a
 * temporary file in the same folder ({@code .NAME.<random>.tmp}, so the rename cannot cross file
 * systems), is flushed to disk, then renamed over the target in one step. On any failure the
 * temporary file is deleted, the target is left as it was, and a one-line
 * {@link dev.tessera.core.TesseraException} names the target.
 *
 * <pre>{@code
 * AtomicFiles.writeString(dir.resolve("trainer_state.json"), json);        // text, UTF-8
 * AtomicFiles.writeBytes(dir.resolve("loss.png"), png);                    // bytes
 * AtomicFiles.write(dir.resolve("big.bin"), channel -> channel.write(buf)); // streamed
 * AtomicFiles.copy(src.resolve("tokenizer.json"), out.resolve("tokenizer.json"));
 * }</pre>
 *
 * The folder must exist. The file gets the usual permissions (umask), not createTempFile's 0600.
 */
public final class AtomicFiles {
    /** ByteBuffer views are int-sized, so large segments go out in slices. */
    private static final long CHUNK_BYTES = 1L << 26;

    /** Writes a file's whole content to an open channel (positioned at 0). */
    @FunctionalInterface
    public interface Body {
        void writeTo(FileChannel channel) throws IOException;
    }

    private AtomicFiles() {}

    /** Replaces {@code target} with what {@code body} writes. */
    public static void write(Path target, Body body) {
        Path abs = target.toAbsolutePath();
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

    /** Replaces {@code target} with {@code text} in UTF-8. */
    public static void writeString(Path target, String text) {
        writeBytes(target, text.getBytes(StandardCharsets.UTF_8));
    }

    /** Replaces {@code target} with {@code bytes}. */
    public static void writeBytes(Path target, byte[] bytes) {
        write(target, channel -> writeFully(channel, ByteBuffer.wrap(bytes)));
    }

    /** Replaces {@code target} with a copy of {@code source}. */
    public static void copy(Path source, Path target) {
        write(target, channel -> {
            FileChannel in;
            try {
                in = FileChannel.open(source, StandardOpenOption.READ);
            } catch (IOException e) {
                throw IoErrors.io(source, e); // name the file that is missing, not the target
            }
            try (in) {
                long size = in.size();
                for (long done = 0; done < size; ) {
                    done += in.transferTo(done, size - done, channel);
                }
            }
        });
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
