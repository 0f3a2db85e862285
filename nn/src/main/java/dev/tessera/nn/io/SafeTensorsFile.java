package dev.tessera.nn.io;

import static dev.tessera.nn.io.IoErrors.error;

import dev.tessera.core.DType;
import dev.tessera.core.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * An open, memory-mapped safetensors file whose header has been fully validated. Tensors of
 * dtypes Tessera has (F32 BF16 F16 I64 I32 U8 BOOL) are read in place; the others (F64 I16 I8
 * F8_E4M3 F8_E5M2) are available as raw bytes, and {@link #load} converts the simple ones.
 *
 * <pre>{@code
 * try (SafeTensorsFile f = SafeTensors.open(Path.of("model.safetensors"))) {
 *     for (String name : f.names()) {
 *         System.out.println(name + " " + f.dtypeName(name) + " " + Arrays.toString(f.shape(name)));
 *     }
 *     Tensor wte = f.tensor("transformer.wte.weight");  // reads the mapping, valid until close()
 *     Tensor copy = f.load("transformer.wte.weight");   // owned by the current Scope
 * }
 * }</pre>
 *
 * In-place tensors and {@link #bytes} slices are read-only and become unusable when the file is
 * closed; {@link #load} copies outlive it. Safe to read from several threads.
 */
public final class SafeTensorsFile implements AutoCloseable {
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final MemorySegment mapped;
    private final SafeTensorsHeader header;
    private volatile boolean closed;
    /** readF32's read buffer, made once: zero-filling a fresh one for every tensor cost more than the reads. */
    private MemorySegment sliceBuffer;

    private SafeTensorsFile(Path path, Arena arena, MemorySegment mapped, SafeTensorsHeader header) {
        this.path = path;
        this.arena = arena;
        this.mapped = mapped;
        this.header = header;
    }

    static SafeTensorsFile open(Path path) {
        if (!Files.isRegularFile(path)) {
            throw error(path, Files.exists(path) ? "not a regular file" : "no such file");
        }
        // Shared: the CPU backend reads tensors from its worker threads.
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw error(path, "file is " + size + " bytes, too short for the 8-byte header length");
            }
            MemorySegment mapped = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return new SafeTensorsFile(path, arena, mapped, SafeTensorsHeader.parse(path, mapped));
        } catch (IOException e) {
            arena.close();
            throw IoErrors.io(path, e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor names, sorted. */
    public List<String> names() {
        checkOpen();
        return List.copyOf(header.entries().keySet());
    }

    public boolean contains(String name) {
        checkOpen();
        return header.entries().containsKey(name);
    }

    /** The dtype as the file names it: "F32", "BF16", "F8_E4M3", ... */
    public String dtypeName(String name) {
        return entry(name).dtype().name();
    }

    public int[] shape(String name) {
        return entry(name).shape().clone();
    }

    /** The {@code __metadata__} strings, sorted by key (empty if the file has none). */
    public Map<String, String> metadata() {
        checkOpen();
        return header.metadata();
    }

    /**
     * The tensor read in place from the mapping, without copying. Valid until {@link #close};
     * read-only (copy it before modifying). Fails for dtypes Tessera has not: use {@link #load} or
     * {@link #bytes}.
     */
    public Tensor tensor(String name) {
        SafeTensorsHeader.Entry e = entry(name);
        if (e.dtype().tessera == null) {
            throw error(path, name, e.dtype() + " has no Tessera dtype to read in place; use load() to convert or bytes() for the raw bytes");
        }
        return Tensor.wrap(e.dtype().tessera, e.shape(), slice(e));
    }

    /**
     * A copy of the tensor owned by the current {@code Scope}; F64 becomes F32 (rounded to nearest)
     * and I8, I16 become I32. F8 dtypes have no conversion: read them with {@link #bytes}.
     */
    public Tensor load(String name) {
        SafeTensorsHeader.Entry e = entry(name);
        MemorySegment src = slice(e);
        if (e.dtype().tessera != null) {
            return Tensor.fromBytes(e.dtype().tessera, e.shape(), src);
        }
        return switch (e.dtype()) {
            case F64 -> {
                Tensor out = Tensor.empty(DType.F32, e.shape());
                MemorySegment dst = out.dataSegment();
                for (long i = 0, n = out.numel(); i < n; i++) {
                    dst.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) src.getAtIndex(F64_LE, i));
                }
                yield out;
            }
            case I16 -> {
                Tensor out = Tensor.empty(DType.I32, e.shape());
                MemorySegment dst = out.dataSegment();
                for (long i = 0, n = out.numel(); i < n; i++) {
                    dst.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, src.getAtIndex(I16_LE, i));
                }
                yield out;
            }
            case I8 -> {
                Tensor out = Tensor.empty(DType.I32, e.shape());
                MemorySegment dst = out.dataSegment();
                for (long i = 0, n = out.numel(); i < n; i++) {
                    dst.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, src.get(ValueLayout.JAVA_BYTE, i));
                }
                yield out;
            }
            default -> throw error(path, name, e.dtype() + " has no Tessera dtype and no conversion; read it with bytes()");
        };
    }

    /**
     * A copy of the tensor (dtypes Tessera has) owned by the current {@code Scope}, read with
     * positional file reads instead of through the mapping: the file's pages then stay in the
     * page cache and never count toward this process's resident memory, which is what lets a
     * model larger than the free memory be loaded (or quantized) tensor by tensor.
     */
    public Tensor read(String name) {
        SafeTensorsHeader.Entry e = entry(name);
        if (e.dtype().tessera == null) {
            throw error(path, name, e.dtype() + " has no Tessera dtype; use load() to convert or bytes() for the raw bytes");
        }
        Tensor out = Tensor.empty(e.dtype().tessera, e.shape());
        readInto(name, out.dataSegment());
        return out;
    }

    /** The tensor's stored bytes ({@code byteSize} of them: dtype size × elements). */
    public long byteSize(String name) {
        return entry(name).byteSize();
    }

    /**
     * Reads the tensor's stored bytes into {@code dst} (exactly {@link #byteSize} bytes) with file
     * reads, as {@link #read} does: a caller's buffer, reused from tensor to tensor (a device load
     * stages every tensor through one).
     */
    public void readInto(String name, MemorySegment dst) {
        SafeTensorsHeader.Entry e = entry(name);
        if (dst.byteSize() != e.byteSize()) {
            throw error(path, name, "needs a buffer of " + e.byteSize() + " bytes, got " + dst.byteSize());
        }
        long start = header.dataStart() + e.begin();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            for (long done = 0, n = e.byteSize(); done < n; ) {
                long chunk = Math.min(n - done, 1L << 30);
                java.nio.ByteBuffer buf = dst.asSlice(done, chunk).asByteBuffer();
                while (buf.hasRemaining()) {
                    if (channel.read(buf, start + done + buf.position()) < 0) {
                        throw error(path, name, "file ended inside the tensor's data");
                    }
                }
                done += chunk;
            }
        } catch (IOException ex) {
            throw IoErrors.io(path, ex);
        }
    }

    /**
     * As {@link #read}, widened to F32 (from F32, BF16 or F16) a slice at a time as it is read, so
     * the F32 copy is the only one: what quantizing a 16-bit weight needs, at no extra memory.
     */
    public synchronized Tensor readF32(String name) {
        SafeTensorsHeader.Entry e = entry(name);
        DType stored = e.dtype().tessera;
        if (stored != DType.F32 && stored != DType.BF16 && stored != DType.F16) {
            throw error(path, name, e.dtype() + " is not a floating dtype to widen to F32");
        }
        if (stored == DType.F32) {
            return read(name);
        }
        Tensor out = Tensor.empty(DType.F32, e.shape());
        Tensor flat = out.reshape(-1);
        long count = out.numel();
        int sliceElements = 1 << 22;
        long start = header.dataStart() + e.begin();
        if (sliceBuffer == null) {
            // in the file's shared arena, freed with the mapping; shared: workers widen from it
            sliceBuffer = arena.allocate(sliceElements * 2L, 64);
        }
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
                var ng = dev.tessera.core.Autograd.noGrad()) {
            java.nio.ByteBuffer buf = sliceBuffer.asByteBuffer();
            for (long done = 0; done < count; ) {
                int n = (int) Math.min(sliceElements, count - done);
                buf.clear().limit(n * 2);
                while (buf.hasRemaining()) {
                    if (channel.read(buf, start + done * 2 + buf.position()) < 0) {
                        throw error(path, name, "file ended inside the tensor's data");
                    }
                }
                Tensor slice = Tensor.wrap(stored, new int[] {n}, MemorySegment.ofBuffer(buf.flip()));
                flat.narrow(0, Math.toIntExact(done), n).copyFrom(slice);
                done += n;
            }
        } catch (IOException ex) {
            throw IoErrors.io(path, ex);
        }
        return out;
    }

    /** The tensor's raw little-endian bytes in the mapping (read-only, valid until {@link #close}). */
    public MemorySegment bytes(String name) {
        return slice(entry(name));
    }

    /** Unmaps the file; in-place tensors and byte slices from it become unusable. Idempotent. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }

    private SafeTensorsHeader.Entry entry(String name) {
        checkOpen();
        SafeTensorsHeader.Entry e = header.entries().get(name);
        if (e == null) {
            throw error(path, name, "no such tensor in the file");
        }
        return e;
    }

    private MemorySegment slice(SafeTensorsHeader.Entry e) {
        return mapped.asSlice(header.dataStart() + e.begin(), e.byteSize());
    }

    private void checkOpen() {
        if (closed) {
            throw error(path, "used after close()");
        }
    }
}
