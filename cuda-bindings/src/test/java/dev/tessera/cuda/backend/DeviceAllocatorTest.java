package dev.tessera.cuda.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DeviceAllocatorTest {
    @Test
    void sizeClassesCoverTheRequestWithBoundedWaste() {
        long previous = 0;
        for (long bytes = 0; bytes < (1L << 26); bytes = bytes < 4096 ? bytes + 1 : bytes + bytes / 7 + 3) {
            long c = DeviceAllocator.sizeClass(bytes);
            assertTrue(c >= bytes, bytes + " -> " + c);
            assertEquals(0, c % DeviceAllocator.GRANULE, "classes keep 512-byte alignment: " + c);
            assertTrue(c >= previous, "monotonic");
            if (bytes > 64 * 1024) {
                assertTrue(c - bytes <= bytes / 8, "waste above 64 KiB is at most 12.5%: " + bytes + " -> " + c);
            }
            previous = c;
        }
    }

    @Test
    void nearbySizesShareAClass() {
        assertEquals(DeviceAllocator.sizeClass(1), DeviceAllocator.sizeClass(512));
        assertEquals(DeviceAllocator.sizeClass(3_000_001), DeviceAllocator.sizeClass(3_000_100));
    }
}
