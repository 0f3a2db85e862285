package dev.tessera.training.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Autograd;
import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PagedAdamWTest {
    private static List<ParamGroup> groups(Tensor big, Tensor small) {
        return List.of(new ParamGroup(List.of("big", "small"), List.of(big, small), 0.01));
    }

    private static Tensor copyOf(Tensor t) {
        Tensor c = Tensor.zeros(t.shape()).requiresGrad(true);
        try (var ng = Autograd.noGrad()) {
            c.copyFrom(t);
        }
        return c;
    }

    @Test
    void pagedAndUnpagedRunsAreBitwiseEqualUnderATightBudget(@TempDir Path dir) {
        Rng rng = new Rng(9);
        Tensor big = rng.randn(300, 500).requiresGrad(true);      // 150,000 values: paged
        Tensor small = rng.randn(1000).requiresGrad(true);         // below the threshold: plain state
        Tensor big2 = copyOf(big), small2 = copyOf(small);
        AdamW plain = new AdamW(groups(big, small), 1e-2);
        // pages of 64 KiB and a fast tier of 4 pages: m and v (1.2 MB) must spill constantly
        try (var store = new PagedStateStore(64 << 10, 4 * (64 << 10), dir)) {
            var paged = new PagedAdamW(groups(big2, small2), 1e-2, 0.9, 0.999, 1e-8, store, PagedAdamW.DEFAULT_MIN_PAGED_VALUES);
            for (int step = 0; step < 5; step++) {
                Tensor g1 = rng.randn(300, 500), g2 = rng.randn(1000);
                big.setGrad(g1);
                big2.setGrad(g1);
                small.setGrad(g2);
                small2.setGrad(g2);
                plain.step();
                paged.step();
            }
            assertArrayEquals(big.toFloatArray(), big2.toFloatArray());
            assertArrayEquals(small.toFloatArray(), small2.toFloatArray());
            assertTrue(paged.pagesMoved() > 20, "pages moved: " + paged.pagesMoved());
            assertTrue(store.pages() * store.pageBytes() > store.fastPages() * store.pageBytes(), "state exceeds the fast tier");
        }
    }

    @Test
    void pagedStateSurvivesAStateDictRoundTrip(@TempDir Path dir) {
        Rng rng = new Rng(10);
        Tensor a = rng.randn(400, 300).requiresGrad(true);
        Tensor s = rng.randn(10).requiresGrad(true);
        Tensor b = copyOf(a), s2 = copyOf(s);
        try (var st1 = new PagedStateStore(64 << 10, 8 * (64 << 10), dir.resolve("1"));
             var st2 = new PagedStateStore(64 << 10, 8 * (64 << 10), dir.resolve("2"))) {
            var o1 = new PagedAdamW(groups(a, s), 1e-2, 0.9, 0.999, 1e-8, st1, 100_000);
            var o2 = new PagedAdamW(groups(b, s2), 1e-2, 0.9, 0.999, 1e-8, st2, 100_000);
            for (int i = 0; i < 2; i++) {
                a.setGrad(rng.randn(400, 300));
                s.setGrad(rng.randn(10));
                o1.step();
            }
            o2.loadStateDict(o1.stateDict());
            try (var ng = Autograd.noGrad()) {
                b.copyFrom(a);
                s2.copyFrom(s);
            }
            Tensor g = rng.randn(400, 300), gs = rng.randn(10);
            a.setGrad(g);
            b.setGrad(g);
            s.setGrad(gs);
            s2.setGrad(gs);
            o1.step();
            o2.step();
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
        }
    }
}
