package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class KernelLauncherTest {
    @Test
    void argumentsMustMatchTheKernelsParameters() {
        Object[] ok = {4L, 0, 8L, 1, 0L, 0, 1f, 2f};
        assertDoesNotThrow(() -> KernelLauncher.checkArguments(Kernel.UNARY_F32, new Object[] {3, 4L, 8L, 16L, 1f, 0f}));
        assertThrows(IllegalArgumentException.class, () -> KernelLauncher.checkArguments(Kernel.UNARY_F32, ok));
        // an int where a 64-bit count is expected would be read as 8 bytes by the kernel
        assertThrows(IllegalArgumentException.class,
                () -> KernelLauncher.checkArguments(Kernel.UNARY_F32, new Object[] {3, 4L, 8L, 16, 1f, 0f}));
        assertThrows(IllegalArgumentException.class,
                () -> KernelLauncher.checkArguments(Kernel.BINARY_F32, new Object[] {0, 1L, 2L, 3L, 4L, new long[8],
                        new long[8], new long[8], new long[8]}));   // Dims is rank + 8 sizes
    }
}
