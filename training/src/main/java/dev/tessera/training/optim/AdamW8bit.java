package dev.tessera.training.optim;

import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.PagedMemory;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.quant.DynamicMap;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * bitsandbytes' 8-bit AdamW: exp_avg in uint8 codes of the signed dynamic map and exp_avg_sq in
 * codes of the unsigned one, one F32 absmax per 256 values; each step is one fused backend op
 * ({@code Backend.adamw8bit}: decode a block, the F32 AdamW update, re-encode). The codes and
 * absmax are tensors in backend storage on the parameter's device. Tensors under 4096 values
 * keep F32 state, as bitsandbytes does. With a {@link PagedStateStore} the codes of tensors of
 * at least 100,000 values live in its pages (paged-adamw8bit), updated a page at a time.
 */
public final class AdamW8bit extends AdamW {
    static final int BLOCK = 256;
    static final int MIN_8BIT_VALUES = 4096;
    private static final float[] SIGNED = DynamicMap.signed();
    private static final float[] UNSIGNED = DynamicMap.unsigned();

    private final PagedStateStore store;
    /** per parameter: codes and absmax of m and v */
    private final Map<String, QuantizedState> quantized = new HashMap<>();
    /** the signed and unsigned maps, per device */
    private final Map<Device, Tensor[]> maps = new HashMap<>();

    /**
     * Codes (U8 [n], all zero at first: absmax 0 decodes them to 0) and absmax (F32 [blocks]) of
     * m and v; the codes are null when they live in the store's pages, m's pages first.
     */
    private static final class QuantizedState {
        final int n;
        Tensor mCodes, vCodes;
        final Tensor mAbsmax, vAbsmax;
        int firstPage = -1, pagesPerArray;

        QuantizedState(int n, Device device) {
            this.n = n;
            int blocks = (n + BLOCK - 1) / BLOCK;
            mAbsmax = Tensor.zeros(DType.F32, device, blocks);
            vAbsmax = Tensor.zeros(DType.F32, device, blocks);
        }
    }

    public AdamW8bit(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps, PagedStateStore store) {
        super(groups, lr, beta1, beta2, eps);
        if (store != null && (store.pageBytes() % BLOCK != 0 || store.fastPages() < 2)) {
            throw new TesseraException("paged 8-bit AdamW needs pages of a multiple of " + BLOCK
                    + " bytes and a fast tier of at least two pages, got " + store.pageBytes() + " bytes x "
                    + store.fastPages());
        }
        this.store = store;
    }

    @Override
    protected void update(String key, Tensor p, double weightDecay) {
        int n = Math.toIntExact(p.numel());
        if (n < MIN_8BIT_VALUES) {
            super.update(key, p, weightDecay);
            return;
        }
        QuantizedState q = quantized.computeIfAbsent(key, k -> Scope.unowned(() -> {
            QuantizedState s = new QuantizedState(n, p.device());
            if (store != null && n >= PagedAdamW.DEFAULT_MIN_PAGED_VALUES) {
                s.pagesPerArray = (int) ((n + store.pageBytes() - 1) / store.pageBytes());
                s.firstPage = store.on(p.device()).allocatePages(2 * s.pagesPerArray);
            } else {
                s.mCodes = Tensor.zeros(DType.U8, p.device(), n);
                s.vCodes = Tensor.zeros(DType.U8, p.device(), n);
            }
            return s;
        }));
        Tensor[] m = mapsOn(p.device());
        if (q.firstPage < 0) {
            step8bit(p, p.grad(), q.mCodes, q.mAbsmax, q.vCodes, q.vAbsmax, m[0], m[1], BLOCK, weightDecay);
            return;
        }
        // a page of m's codes and the matching page of v's at a time; pages hold whole blocks. The next
        // pair is prefetched while this one updates (with four slots it evicts neither of this pair).
        PagedMemory pages = store.on(p.device());
        long pageBytes = store.pageBytes();
        Tensor flat = p.reshape(-1), grad = p.grad().reshape(-1);
        for (int i = 0; i < q.pagesPerArray; i++) {
            int start = (int) (i * pageBytes);
            int len = (int) Math.min(pageBytes, n - start);
            int block0 = start / BLOCK, blocks = (len + BLOCK - 1) / BLOCK;
            Tensor mc = pages.acquire(q.firstPage + i, DType.U8, len);
            Tensor vc = pages.acquire(q.firstPage + q.pagesPerArray + i, DType.U8, len);
            if (pages.fastPages() >= 4 && i + 1 < q.pagesPerArray) {
                pages.prefetch(q.firstPage + i + 1);
                pages.prefetch(q.firstPage + q.pagesPerArray + i + 1);
            }
            step8bit(flat.narrow(0, start, len), grad.narrow(0, start, len), mc, q.mAbsmax.narrow(0, block0, blocks),
                    vc, q.vAbsmax.narrow(0, block0, blocks), m[0], m[1], BLOCK, weightDecay);
        }
    }

    private Tensor[] mapsOn(Device device) {
        return maps.computeIfAbsent(device, d -> Scope.unowned(() -> new Tensor[] {
            Tensor.of(SIGNED, SIGNED.length).to(d), Tensor.of(UNSIGNED, UNSIGNED.length).to(d)}));
    }

    /** m's (which 0) or v's (1) codes as a new CPU tensor. */
    private Tensor codesOf(String key, QuantizedState q, int which) {
        if (q.firstPage < 0) {
            return (which == 0 ? q.mCodes : q.vCodes).to(Device.CPU).copy();
        }
        Tensor out = Tensor.empty(DType.U8, q.n);
        PagedMemory pages = store.on(deviceOf(key));
        long pageBytes = store.pageBytes();
        for (int i = 0; i < q.pagesPerArray; i++) {
            int len = (int) Math.min(pageBytes, q.n - i * pageBytes);
            try (var scope = Scope.open()) {
                Tensor page = pages.acquire(q.firstPage + which * q.pagesPerArray + i, DType.U8, len).to(Device.CPU);
                MemorySegment.copy(page.dataSegment(), 0, out.dataSegment(), i * pageBytes, len);
            }
        }
        return out;
    }

    @Override
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>(super.stateDict());
        quantized.forEach((key, q) -> {
            out.put("state8." + key + ".exp_avg.codes", Scope.unowned(() -> codesOf(key, q, 0)));
            out.put("state8." + key + ".exp_avg_sq.codes", Scope.unowned(() -> codesOf(key, q, 1)));
            out.put("state8." + key + ".exp_avg.absmax", q.mAbsmax);
            out.put("state8." + key + ".exp_avg_sq.absmax", q.vAbsmax);
        });
        return out;
    }

    @Override
    public void loadStateDict(Map<String, Tensor> saved) {
        super.loadStateDict(saved); // reads only "step" and "state.*": the "state8.*" entries are this class's
        quantized.clear();
        saved.forEach((k, t) -> {
            if (k.startsWith("state8.") && k.endsWith(".exp_avg.codes")) {
                String key = k.substring(7, k.length() - ".exp_avg.codes".length());
                Device device = deviceOf(key);
                Tensor vc = saved.get("state8." + key + ".exp_avg_sq.codes");
                Tensor ma = saved.get("state8." + key + ".exp_avg.absmax");
                Tensor va = saved.get("state8." + key + ".exp_avg_sq.absmax");
                if (vc == null || ma == null || va == null) {
                    throw new TesseraException("optimizer state: " + key + " has 8-bit exp_avg codes but not all of exp_avg_sq codes and both absmax");
                }
                QuantizedState q = Scope.unowned(() -> {
                    QuantizedState s = new QuantizedState((int) t.numel(), device);
                    s.mAbsmax.copyFrom(ma.to(device));
                    s.vAbsmax.copyFrom(va.to(device));
                    s.mCodes = t.to(device).cast(DType.U8).copy();
                    s.vCodes = vc.to(device).cast(DType.U8).copy();
                    return s;
                });
                quantized.put(key, q);
            }
        });
    }

    @Override
    public long stateBytes() {
        long b = super.stateBytes();
        for (QuantizedState q : quantized.values()) {
            b += 2L * q.n + 8L * q.mAbsmax.numel();
        }
        return b;
    }
}
