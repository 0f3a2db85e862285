package dev.tessera.quant;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One tensor as a safetensors file stores it: dtype name ("F32", "U8"), shape and the raw
 * little-endian bytes. This is the hand-off between the quantization state and whichever
 * safetensors writer or reader holds the file.
 *
 * <pre>{@code
 * StoredTensor t = StoredTensor.f32(new float[] {1f, 2f}, 2);
 * float[] back = t.toFloats();   // {1f, 2f}
 * }</pre>
 *
 * @param dtype safetensors dtype name
 * @param shape dimensions (the array is owned by the record, not copied)
 * @param data {@code prod(shape) * size(dtype)} bytes, little-endian (owned, not copied)
 */
public record StoredTensor(String dtype, long[] shape, byte[] data) {
    public StoredTensor {
        long expected = numel(shape) * switch (dtype) {
            case "F32" -> 4;
            case "U8" -> 1;
            default -> throw new IllegalArgumentException("unsupported dtype " + dtype + ": expected F32 or U8");
        };
        if (data.length != expected) {
            throw new IllegalArgumentException(dtype + " tensor of shape " + Arrays.toString(shape) + " needs "
                    + expected + " bytes, got " + data.length);
        }
    }

    /** An F32 tensor holding a copy of {@code values} with the given shape. */
    public static StoredTensor f32(float[] values, long... shape) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return new StoredTensor("F32", shape, buf.array());
    }

    /** A U8 tensor over {@code bytes} (not copied) with the given shape. */
    public static StoredTensor u8(byte[] bytes, long... shape) {
        return new StoredTensor("U8", shape, bytes);
    }

    /** The values of an F32 tensor. */
    public float[] toFloats() {
        if (!dtype.equals("F32")) {
            throw new IllegalStateException("expected an F32 tensor, got " + dtype);
        }
        float[] out = new float[data.length / 4];
        ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /** Number of elements, the product of the shape. */
    public long numel() {
        return numel(shape);
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof StoredTensor t && dtype.equals(t.dtype) && Arrays.equals(shape, t.shape)
                && Arrays.equals(data, t.data);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * dtype.hashCode() + Arrays.hashCode(shape)) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "StoredTensor[" + dtype + " " + Arrays.toString(shape) + ", " + data.length + " bytes]";
    }
}
