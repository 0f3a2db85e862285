package dev.tessera.training.optim;

import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.PagedMemory;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW whose exp_avg / exp_avg_sq of large parameters (at least {@code minPagedValues}
 * elements, 100,000 by default as bitsandbytes) live in a {@link PagedStateStore}. The update
 * runs page by page — AdamW is elementwise, so each page of m and v is updated with the matching
 * slice of the parameter and gradient by the same fused kernel, giving bitwise the same numbers
 * as {@link AdamW}. Smaller parameters keep ordinary state tensors. The pages live on the
 * parameter's device (see {@link PagedStateStore}); the next slice's pages are prefetched while a
 * slice updates.
 */
public final class PagedAdamW extends AdamW {
    public static final int DEFAULT_MIN_PAGED_VALUES = 100_000;

    private final PagedStateStore store;
    private final int minPagedValues;
    private final long floatsPerPage;
    /** first page of m and pages per array; v's pages follow m's */
    private final Map<String, int[]> pagesOf = new HashMap<>();

    public PagedAdamW(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps,
                      PagedStateStore store, int minPagedValues) {
        super(groups, lr, beta1, beta2, eps);
        if (store.fastPages() < 2) {
            throw new TesseraException("paged AdamW needs a fast tier of at least two pages (m and v of one slice)");
        }
        this.store = store;
        this.minPagedValues = minPagedValues;
        this.floatsPerPage = store.pageBytes() / 4;
    }

    @Override
    protected void update(String key, Tensor p, double weightDecay) {
        long n = p.numel();
        if (n < minPagedValues) {
            super.update(key, p, weightDecay);
            return;
        }
        PagedMemory pages = store.on(p.device());
        int perArray = (int) ((n + floatsPerPage - 1) / floatsPerPage);
        int[] first = pagesOf.computeIfAbsent(key, k -> new int[] {pages.allocatePages(2 * perArray), perArray});
        // the next slice's pages come in while this slice updates; with four slots they evict neither of this slice's
        boolean prefetch = pages.fastPages() >= 4;
        try (var ng = Autograd.noGrad(); var scope = Scope.open()) {
            for (int i = 0; i < perArray; i++) {
                long start = i * floatsPerPage;
                int len = (int) Math.min(floatsPerPage, n - start);
                // m's and v's page of this slice: the fast tier holds both (checked in the constructor)
                Tensor m = pages.acquire(first[0] + i, DType.F32, len);
                Tensor v = pages.acquire(first[0] + perArray + i, DType.F32, len);
                if (prefetch && i + 1 < perArray) {
                    pages.prefetch(first[0] + i + 1);
                    pages.prefetch(first[0] + perArray + i + 1);
                }
                Tensor pSlice = p.reshape(-1).narrow(0, (int) start, len);
                Tensor gSlice = p.grad().reshape(-1).narrow(0, (int) start, len);
                pSlice.setGrad(gSlice);
                step(pSlice, m, v, weightDecay);
            }
        }
    }

    @Override
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>(super.stateDict());
        pagesOf.forEach((key, first) -> {
            PagedMemory pages = store.on(deviceOf(key));
            int count = first[1];
            for (int half = 0; half < 2; half++) {
                float[] data = new float[(int) (count * floatsPerPage)];
                for (int i = 0; i < count; i++) {
                    try (var scope = Scope.open()) {
                        float[] page = pages.acquire(first[0] + half * count + i, DType.F32, (int) floatsPerPage).toFloatArray();
                        System.arraycopy(page, 0, data, (int) (i * floatsPerPage), page.length);
                    }
                }
                Tensor t = Scope.unowned(() -> Tensor.of(data, data.length));
                out.put("paged." + key + (half == 0 ? ".exp_avg" : ".exp_avg_sq"), t);
            }
        });
        return out;
    }

    @Override
    public void loadStateDict(Map<String, Tensor> saved) {
        super.loadStateDict(saved); // reads only "step" and "state.*": the "paged.*" entries are this class's
        saved.forEach((k, t) -> {
            if (k.startsWith("paged.") && k.endsWith(".exp_avg")) {
                String key = k.substring(6, k.length() - 8);
                Tensor v = saved.get("paged." + key + ".exp_avg_sq");
                PagedMemory pages = store.on(deviceOf(key));
                int count = (int) (t.numel() / floatsPerPage);
                int[] first = pagesOf.computeIfAbsent(key, x -> new int[] {pages.allocatePages(2 * count), count});
                Tensor[] halves = {t, v};
                for (int half = 0; half < 2; half++) {
                    for (int i = 0; i < count; i++) {
                        try (var scope = Scope.open()) {
                            Tensor slice = halves[half].reshape(-1).narrow(0, (int) (i * floatsPerPage), (int) floatsPerPage);
                            pages.acquire(first[0] + half * count + i, DType.F32, (int) floatsPerPage)
                                    .copyFrom(slice.to(pages.device()));
                        }
                    }
                }
            }
        });
    }

    /** Pages moved between the tiers so far (in + out). */
    public long pagesMoved() {
        return store.pagesIn() + store.pagesOut();
    }

    @Override
    public long stateBytes() {
        return super.stateBytes() + (long) store.pages() * store.pageBytes();
    }
}
