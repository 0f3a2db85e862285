package dev.tessera.training.optim;

import dev.tessera.core.Autograd;
import dev.tessera.core.DType;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.quant.Blockwise8Bit;
import dev.tessera.quant.DynamicMap;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * bitsandbytes' 8-bit AdamW: exp_avg in uint8 codes of the signed dynamic map and exp_avg_sq in
 * codes of the unsigned one, one F32 absmax per 256 values; each step dequantizes, runs the F32
 * AdamW update, and requantizes. Tensors under 4096 values keep F32 state, as bitsandbytes does.
 * With a {@link PagedStateStore} the codes of tensors of at least 100,000 values live in its
 * pages (paged-adamw8bit).
 */
public final class AdamW8bit extends AdamW {
    static final int BLOCK = 256;
    static final int MIN_8BIT_VALUES = 4096;
    private static final float[] SIGNED = DynamicMap.signed();
    private static final float[] UNSIGNED = DynamicMap.unsigned();

    private final PagedStateStore store;
    /** per parameter: codes of m and v, absmax of m and v */
    private final Map<String, QuantizedState> quantized = new HashMap<>();

    private static final class QuantizedState {
        final int n;
        byte[] mCodes, vCodes;          // null when paged; all-zero codes with absmax 0 decode to 0
        int firstPage = -1, pagesPerArray;
        final float[] mAbsmax, vAbsmax;

        QuantizedState(int n) {
            this.n = n;
            int blocks = Blockwise8Bit.blocks(n, BLOCK);
            mAbsmax = new float[blocks];
            vAbsmax = new float[blocks];
        }
    }

    public AdamW8bit(List<ParamGroup> groups, double lr, double beta1, double beta2, double eps, PagedStateStore store) {
        super(groups, lr, beta1, beta2, eps);
        this.store = store;
    }

    @Override
    protected void update(String key, Tensor p, double weightDecay) {
        int n = Math.toIntExact(p.numel());
        if (n < MIN_8BIT_VALUES) {
            super.update(key, p, weightDecay);
            return;
        }
        QuantizedState q = quantized.computeIfAbsent(key, k -> {
            QuantizedState s = new QuantizedState(n);
            if (store != null && n >= PagedAdamW.DEFAULT_MIN_PAGED_VALUES) {
                s.pagesPerArray = (int) ((n + store.pageBytes() - 1) / store.pageBytes());
                s.firstPage = store.allocatePages(2 * s.pagesPerArray);
                writeCodes(s, 0, new byte[n], n);
                writeCodes(s, 1, new byte[n], n);
            } else {
                s.mCodes = new byte[n];
                s.vCodes = new byte[n];
            }
            return s;
        });
        float[] m = new float[n], v = new float[n];
        Blockwise8Bit.dequantize(readCodes(q, 0, n), q.mAbsmax, SIGNED, BLOCK, m);
        Blockwise8Bit.dequantize(readCodes(q, 1, n), q.vAbsmax, UNSIGNED, BLOCK, v);
        try (var ng = Autograd.noGrad(); var scope = Scope.open()) {
            Tensor mt = Tensor.of(m, p.shape()), vt = Tensor.of(v, p.shape());
            step(p, mt, vt, weightDecay);
            m = mt.toFloatArray();
            v = vt.toFloatArray();
        }
        byte[] mc = new byte[n], vc = new byte[n];
        Blockwise8Bit.quantize(m, SIGNED, BLOCK, mc, q.mAbsmax);
        Blockwise8Bit.quantize(v, UNSIGNED, BLOCK, vc, q.vAbsmax);
        writeCodes(q, 0, mc, n);
        writeCodes(q, 1, vc, n);
    }

    private byte[] readCodes(QuantizedState q, int which, int n) {
        if (q.firstPage < 0) {
            return which == 0 ? q.mCodes : q.vCodes;
        }
        byte[] out = new byte[n];
        long pageBytes = store.pageBytes();
        for (int i = 0; i < q.pagesPerArray; i++) {
            MemorySegment page = store.acquire(q.firstPage + which * q.pagesPerArray + i);
            int len = (int) Math.min(pageBytes, n - i * pageBytes);
            MemorySegment.copy(page, ValueLayout.JAVA_BYTE, 0, out, (int) (i * pageBytes), len);
        }
        return out;
    }

    private void writeCodes(QuantizedState q, int which, byte[] codes, int n) {
        if (q.firstPage < 0) {
            if (which == 0) {
                q.mCodes = codes;
            } else {
                q.vCodes = codes;
            }
            return;
        }
        long pageBytes = store.pageBytes();
        for (int i = 0; i < q.pagesPerArray; i++) {
            MemorySegment page = store.acquire(q.firstPage + which * q.pagesPerArray + i);
            int len = (int) Math.min(pageBytes, n - i * pageBytes);
            MemorySegment.copy(codes, (int) (i * pageBytes), page, ValueLayout.JAVA_BYTE, 0, len);
        }
    }

    @Override
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>(super.stateDict());
        quantized.forEach((key, q) -> {
            byte[] mc = readCodes(q, 0, q.n), vc = readCodes(q, 1, q.n);
            out.put("state8." + key + ".exp_avg.codes", Scope.unowned(() -> bytes(mc)));
            out.put("state8." + key + ".exp_avg_sq.codes", Scope.unowned(() -> bytes(vc)));
            out.put("state8." + key + ".exp_avg.absmax", Scope.unowned(() -> Tensor.of(q.mAbsmax, q.mAbsmax.length)));
            out.put("state8." + key + ".exp_avg_sq.absmax", Scope.unowned(() -> Tensor.of(q.vAbsmax, q.vAbsmax.length)));
        });
        return out;
    }

    private static Tensor bytes(byte[] b) {
        return Tensor.fromBytes(DType.U8, new int[] {b.length}, MemorySegment.ofArray(b));
    }

    @Override
    public void loadStateDict(Map<String, Tensor> saved) {
        Map<String, Tensor> plain = new LinkedHashMap<>();
        saved.forEach((k, t) -> {
            if (!k.startsWith("state8.")) {
                plain.put(k, t);
            }
        });
        super.loadStateDict(plain);
        quantized.clear();
        saved.forEach((k, t) -> {
            if (k.startsWith("state8.") && k.endsWith(".exp_avg.codes")) {
                String key = k.substring(7, k.length() - ".exp_avg.codes".length());
                byte[] mc = t.contiguous().dataSegment().toArray(ValueLayout.JAVA_BYTE);
                byte[] vc = saved.get("state8." + key + ".exp_avg_sq.codes").contiguous().dataSegment().toArray(ValueLayout.JAVA_BYTE);
                float[] ma = saved.get("state8." + key + ".exp_avg.absmax").toFloatArray();
                float[] va = saved.get("state8." + key + ".exp_avg_sq.absmax").toFloatArray();
                QuantizedState q = new QuantizedState(mc.length);
                System.arraycopy(ma, 0, q.mAbsmax, 0, ma.length);
                System.arraycopy(va, 0, q.vAbsmax, 0, va.length);
                q.mCodes = mc;
                q.vCodes = vc;
                quantized.put(key, q);
            }
        });
    }

    @Override
    public long stateBytes() {
        long b = super.stateBytes();
        for (QuantizedState q : quantized.values()) {
            b += 2L * q.n + 8L * q.mAbsmax.length;
        }
        return b;
    }
}
