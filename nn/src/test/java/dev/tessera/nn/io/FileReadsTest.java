package dev.tessera.nn.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tessera.core.DType;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/** Tensors read with file reads (not through the mapping): as stored, and widened to F32 slice by slice. */
class FileReadsTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"BF16", "F16", "F32"})
    void readAndReadF32GiveTheStoredValues(DType dtype) {
        try (var scope = Scope.open()) {
            // 5 Mi elements: more than one 4 Mi-element slice, and big enough to widen on several threads
            Tensor stored = new Rng(1).randn(2560, 2048).cast(dtype);
            Path file = tmp.resolve("t.safetensors");
            SafeTensors.write(file, Map.of("w", stored));
            try (SafeTensorsFile f = SafeTensors.open(file)) {
                Tensor read = f.read("w");
                assertEquals(dtype, read.dtype());
                assertArrayEquals(stored.cast(DType.F32).toFloatArray(), read.cast(DType.F32).toFloatArray(), 0f);
                Tensor wide = f.readF32("w");
                assertEquals(DType.F32, wide.dtype());
                assertArrayEquals(stored.cast(DType.F32).toFloatArray(), wide.toFloatArray(), 0f);
            }
        }
    }
}
