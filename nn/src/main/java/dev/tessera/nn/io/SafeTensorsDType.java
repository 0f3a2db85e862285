package dev.tessera.nn.io;

import dev.tessera.core.DType;
import java.util.HashMap;
import java.util.Map;

/**
 * The element types a safetensors file may declare, with their size and the Tessera {@link DType}
 * that reads them in place (null where Tessera has none).
 *
 * <p>Declaration order is the order the safetensors library writes tensors in (its Rust {@code Dtype}
 * enum, descending): widest first, so that every tensor starts at a multiple of its element size.
 */
enum SafeTensorsDType {
    I64(8, DType.I64),
    F64(8, null),
    F32(4, DType.F32),
    I32(4, DType.I32),
    BF16(2, DType.BF16),
    F16(2, DType.F16),
    I16(2, null),
    F8_E4M3(1, null),
    F8_E5M2(1, null),
    I8(1, null),
    U8(1, DType.U8),
    BOOL(1, DType.BOOL);

    private static final Map<String, SafeTensorsDType> BY_NAME = new HashMap<>();

    static {
        for (SafeTensorsDType t : values()) {
            BY_NAME.put(t.name(), t);
        }
    }

    final int byteSize;
    /** The Tessera dtype with the same bytes, or null. */
    final DType tessera;

    SafeTensorsDType(int byteSize, DType tessera) {
        this.byteSize = byteSize;
        this.tessera = tessera;
    }

    /** The dtype named {@code name} in a header, or null if safetensors has no such dtype. */
    static SafeTensorsDType byName(String name) {
        return BY_NAME.get(name);
    }

    static SafeTensorsDType of(DType dtype) {
        return byName(dtype.safetensorsName());
    }

    /** "F64 F32 ..." for error messages. */
    static String known() {
        StringBuilder sb = new StringBuilder();
        for (SafeTensorsDType t : values()) {
            sb.append(sb.isEmpty() ? "" : " ").append(t.name());
        }
        return sb.toString();
    }
}
