package dev.tessera.training.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** An example is a value: equal by the contents of its arrays, hashed and printed by them. */
class ExampleValueTest {

    @Test
    void examplesWithTheSameArraysAreEqualAndHashAlike() {
        Example a = new Example(new int[] {1, 2, 3, 4}, new int[] {-100, 2, 3, 4}, new int[] {1, 3});
        Example b = new Example(new int[] {1, 2, 3, 4}, new int[] {-100, 2, 3, 4}, new int[] {1, 3});
        assertEquals(a, b);
        assertEquals(a.hashCode(), b.hashCode());
        assertEquals(1, new HashSet<>(Set.of(a)).stream().filter(b::equals).count());
        assertNotEquals(a, new Example(new int[] {1, 2, 3, 5}, new int[] {-100, 2, 3, 4}, new int[] {1, 3}), "ids");
        assertNotEquals(a, new Example(new int[] {1, 2, 3, 4}, new int[] {1, 2, 3, 4}, new int[] {1, 3}), "labels");
        assertNotEquals(a, new Example(new int[] {1, 2, 3, 4}, new int[] {-100, 2, 3, 4}, new int[] {2, 2}), "segments");
        assertNotEquals(a, (Object) "Example");
        // swapping ids and labels, or labels and segments, must change the hash (the fields are weighted)
        Example swapped = new Example(new int[] {-100, 2, 3, 4}, new int[] {1, 2, 3, 4}, new int[] {1, 3});
        assertNotEquals(a.hashCode(), swapped.hashCode());
        assertNotEquals(new Example(new int[] {7}, new int[] {7}).hashCode(), 0, "not a constant");
    }

    @Test
    void toStringShowsTheArrays() {
        assertEquals("Example[inputIds=[5, 6], labels=[-100, 6], segmentLengths=[2]]",
                new Example(new int[] {5, 6}, new int[] {-100, 6}).toString());
    }

    @Test
    void segmentsMustCoverTheRow() {
        assertThrows(IllegalArgumentException.class, () -> new Example(new int[] {1, 2}, new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> new Example(new int[] {1, 2}, new int[] {1, 2}, new int[] {1}));
        assertEquals(3, new Example(new int[] {1, 2, 3}, new int[] {-100, -100, 3}).length());
        assertEquals(1, new Example(new int[] {1, 2, 3}, new int[] {-100, -100, 3}).targetCount());
    }
}
