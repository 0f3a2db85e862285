package dev.tessera.training.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tessera.core.Autograd;
import dev.tessera.core.Rng;
import dev.tessera.core.Tensor;
import dev.tessera.quant.Blockwise8Bit;
import dev.tessera.quant.DynamicMap;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdamW8bitTest {
    private static List<ParamGroup> group(Tensor p) {
        return List.of(new ParamGroup(List.of("w"), List.of(p), 0.0));
    }

    @Test
    void threeStepsMatchTheHandComputedBlockwise8BitUpdate() {
        int n = 8192; // above the 4096-value threshold: 8-bit state
        Rng rng = new Rng(1);
        Tensor p = rng.randn(n).requiresGrad(true);
        float[] w = p.toFloatArray();
        AdamW8bit opt = new AdamW8bit(group(p), 1e-2, 0.9, 0.999, 1e-8, null);
        float[] signed = DynamicMap.signed(), unsigned = DynamicMap.unsigned();
        byte[] mc = new byte[n], vc = new byte[n];
        float[] ma = new float[n / 256], va = new float[n / 256];
        for (int t = 1; t <= 3; t++) {
            Tensor g = rng.randn(n);
            float[] gv = g.toFloatArray();
            p.setGrad(g);
            opt.step();
            // reference: dequantize state, F32 AdamW (PyTorch's formula), requantize
            float[] m = new float[n], v = new float[n];
            Blockwise8Bit.dequantize(mc, ma, signed, 256, m);
            Blockwise8Bit.dequantize(vc, va, unsigned, 256, v);
            for (int i = 0; i < n; i++) {
                m[i] = m[i] + 0.1f * (gv[i] - m[i]);
                v[i] = v[i] * 0.999f + 0.001f * gv[i] * gv[i];
                float denom = (float) Math.sqrt(v[i]) / (float) Math.sqrt(1 - Math.pow(0.999, t)) + 1e-8f;
                w[i] = w[i] + (float) -(1e-2 / (1 - Math.pow(0.9, t))) * m[i] / denom;
            }
            Blockwise8Bit.quantize(m, signed, 256, mc, ma);
            Blockwise8Bit.quantize(v, unsigned, 256, vc, va);
            float[] got = p.toFloatArray();
            for (int i = 0; i < n; i++) {
                assertEquals(w[i], got[i], 1e-6, "step " + t + " element " + i);
            }
        }
        assertTrue(opt.stateBytes() < 2 * n + 8 * (n / 256) + 1, "8-bit state: " + opt.stateBytes() + " bytes");
    }

    @Test
    void smallTensorsKeepF32StateAndMatchAdamWExactly() {
        Rng rng = new Rng(2);
        Tensor a = rng.randn(100).requiresGrad(true), b = Tensor.zeros(100).requiresGrad(true);
        try (var ng = Autograd.noGrad()) {
            b.copyFrom(a);
        }
        AdamW plain = new AdamW(group(a), 1e-2);
        AdamW8bit eight = new AdamW8bit(group(b), 1e-2, 0.9, 0.999, 1e-8, null);
        for (int t = 0; t < 3; t++) {
            Tensor g = rng.randn(100);
            a.setGrad(g);
            b.setGrad(g);
            plain.step();
            eight.step();
        }
        assertArrayEquals(a.toFloatArray(), b.toFloatArray());
    }

    @Test
    void pagedEightBitEqualsUnpagedEightBit(@TempDir Path dir) {
        Rng rng = new Rng(3);
        Tensor a = rng.randn(400, 300).requiresGrad(true), b = Tensor.zeros(400, 300).requiresGrad(true);
        try (var ng = Autograd.noGrad()) {
            b.copyFrom(a);
        }
        try (var store = new PagedStateStore(64 << 10, 2 * (64 << 10), dir)) {
            AdamW8bit plain = new AdamW8bit(group(a), 1e-2, 0.9, 0.999, 1e-8, null);
            AdamW8bit paged = new AdamW8bit(group(b), 1e-2, 0.9, 0.999, 1e-8, store);
            for (int t = 0; t < 3; t++) {
                Tensor g = rng.randn(400, 300);
                a.setGrad(g);
                b.setGrad(g);
                plain.step();
                paged.step();
            }
            assertArrayEquals(a.toFloatArray(), b.toFloatArray());
            assertTrue(store.pagesIn() + store.pagesOut() > 0);
        }
    }
}
