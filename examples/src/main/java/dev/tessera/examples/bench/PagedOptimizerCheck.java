package dev.tessera.examples.bench;

import dev.tessera.core.Autograd;
import dev.tessera.core.Device;
import dev.tessera.core.Rng;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.training.optim.AdamW;
import dev.tessera.training.optim.AdamW8bit;
import dev.tessera.training.optim.PagedAdamW;
import dev.tessera.training.optim.PagedStateStore;
import dev.tessera.training.optim.ParamGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Paged optimizers on a device against their unpaged selves there: paged AdamW and paged 8-bit
 * AdamW take 5 steps on a 150,000-value parameter (paged) and a small one (not), with pages of
 * 64 KiB and a fast tier of 4 pages so that the state spills and is prefetched constantly; every
 * parameter, and the state it saves for a checkpoint, must end bitwise equal to the unpaged run's. Prints one line per optimizer and a
 * verdict; exits 1 on a difference. On CUDA the fast tier is device memory and the slow tier
 * pinned host memory; on the CPU, off-heap RAM and a memory-mapped file.
 *
 * <pre>
 * java ... dev.tessera.examples.bench.PagedOptimizerCheck [cpu|cuda|cuda:N]
 * </pre>
 */
public final class PagedOptimizerCheck {
    private PagedOptimizerCheck() {}

    public static void main(String[] args) throws IOException {
        Device device = Device.parse(args.length > 0 ? args[0] : "cuda");
        boolean ok = true;
        ok &= report("paged-adamw    ", device, store -> groups -> new PagedAdamW(groups, 1e-2, 0.9, 0.999, 1e-8, store,
                PagedAdamW.DEFAULT_MIN_PAGED_VALUES), groups -> new AdamW(groups, 1e-2));
        ok &= report("paged-adamw8bit", device, store -> groups -> new AdamW8bit(groups, 1e-2, 0.9, 0.999, 1e-8, store),
                groups -> new AdamW8bit(groups, 1e-2, 0.9, 0.999, 1e-8, null));
        System.out.println(ok ? "paged optimizer check: PASS" : "paged optimizer check: FAIL");
        if (!ok) {
            System.exit(1);
        }
    }

    private static boolean report(String name, Device device, Function<PagedStateStore, Function<List<ParamGroup>, AdamW>> paged,
                                  Function<List<ParamGroup>, AdamW> plain) throws IOException {
        Path dir = Files.createTempDirectory("tessera-pages");
        try (var store = new PagedStateStore(64 << 10, 4 * (64 << 10), dir)) {
            float[][] a = run(device, plain);
            float[][] b = run(device, paged.apply(store));
            boolean pass = Arrays.deepEquals(a, b);
            System.out.printf("%s %s: 5 steps on %s, parameters and saved state bitwise %s unpaged, %d pages moved%n", name,
                    pass ? "PASS" : "FAIL", device, pass ? "equal to" : "DIFFERENT from", store.pagesIn() + store.pagesOut());
            return pass && store.pagesOut() > 0;
        } finally {
            Files.deleteIfExists(dir);
        }
    }

    /** The big parameter's saved state {@code which} (8-bit codes, or F32 values; paged state is padded to whole pages). */
    private static float[] state(AdamW opt, String which) {
        Map<String, Tensor> saved = opt.stateDict();
        for (String key : List.of("state8.0.0." + which + ".codes", "paged.0.0." + which, "state.0.0." + which)) {
            if (saved.containsKey(key)) {
                return Arrays.copyOf(saved.get(key).toFloatArray(), 300 * 500);
            }
        }
        throw new IllegalStateException("no saved " + which + " among " + saved.keySet());
    }

    /** Both parameters after 5 steps of the optimizer on {@code device}, same data every run. */
    private static float[][] run(Device device, Function<List<ParamGroup>, AdamW> optimizer) {
        Rng rng = new Rng(9);
        Tensor big = Scope.unowned(() -> rng.randn(300, 500).to(device)).requiresGrad(true);
        Tensor small = Scope.unowned(() -> rng.randn(1000).to(device)).requiresGrad(true);
        AdamW opt = optimizer.apply(List.of(new ParamGroup(List.of("big", "small"), List.of(big, small), 0.01)));
        for (int step = 0; step < 5; step++) {
            try (var scope = Scope.open(); var ng = Autograd.noGrad()) {
                big.setGrad(rng.randn(300, 500).to(device));
                small.setGrad(rng.randn(1000).to(device));
                opt.step();
            }
        }
        // the state read back from the pages (for checkpoints) must be the unpaged state too
        float[][] out = {big.toFloatArray(), small.toFloatArray(), state(opt, "exp_avg"), state(opt, "exp_avg_sq")};
        big.release();
        small.release();
        return out;
    }
}
