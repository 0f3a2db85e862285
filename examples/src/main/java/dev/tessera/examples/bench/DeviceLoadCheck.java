package dev.tessera.examples.bench;

import dev.tessera.core.Backends;
import dev.tessera.core.DType;
import dev.tessera.core.Device;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import dev.tessera.nn.RotaryEmbedding;
import dev.tessera.nn.io.WeightFolderReader;
import dev.tessera.nn.io.WeightFolders;
import dev.tessera.nn.models.CausalLM;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Run on a GPU by scripts/gpu-check.sh, and by {@code EmulatedDeviceTrainingTest} in a JVM whose
 * CUDA device is the emulated one: models
 * loaded straight to the device against models loaded on the CPU and moved (bitwise), the host
 * bytes such a load holds at its peak, and the id lookups that stay on the device (the frozen
 * 16-bit embedding, rotary angles) with their errors. Prints one {@code NAME PASS|FAIL: ...} line
 * per check and exits 1 when any failed. Usage: {@code DeviceLoadCheck FIXTURES_DIR} (a folder holding
 * {@code gpt2-tiny} and {@code llama-tiny-bf16}).
 */
public final class DeviceLoadCheck {
    private static final Device CUDA = Device.cuda(0);
    private static int failures;

    public static void main(String[] args) {
        Path fixtures = Path.of(args[0]);
        Path gpt2 = fixtures.resolve("gpt2-tiny"), llamaBf16 = fixtures.resolve("llama-tiny-bf16");
        check("load-f32", () -> sameParameters(CausalLM.load(gpt2).to(CUDA), CausalLM.load(gpt2, CUDA)));
        check("load-frozen-auto", () -> sameParameters(CausalLM.loadFrozen(llamaBf16, null, CausalLM.WeightInterceptor.NONE).to(CUDA),
                CausalLM.loadFrozen(llamaBf16, null, CausalLM.WeightInterceptor.NONE, CUDA)));
        check("load-frozen-f16", () -> sameParameters(CausalLM.loadFrozen(gpt2, DType.F16, CausalLM.WeightInterceptor.NONE).to(CUDA),
                CausalLM.loadFrozen(gpt2, DType.F16, CausalLM.WeightInterceptor.NONE, CUDA)));
        check("load-host-peak", () -> hostPeak(gpt2));
        check("frozen-embedding", () -> frozenModelMatches(llamaBf16));
        check("bad-id", DeviceLoadCheck::badIdReadsAsOnTheCpu);
        check("rotary-angles", DeviceLoadCheck::anglesStayOnTheDevice);
        System.exit(failures == 0 ? 0 : 1);
    }

    private static void check(String name, Supplier<String> body) {
        try (var scope = Scope.open()) {
            System.out.println(name + " PASS: " + body.get());
        } catch (RuntimeException | AssertionError e) {
            failures++;
            System.out.println(name + " FAIL: " + e);
        }
    }

    private static byte[] bytes(Tensor t) {
        return t.to(Device.CPU).contiguous().dataSegment().toArray(ValueLayout.JAVA_BYTE);
    }

    private static String sameParameters(CausalLM moved, CausalLM direct) {
        try {
            Map<String, Tensor> a = moved.namedParameters(), b = direct.namedParameters();
            if (!a.keySet().equals(b.keySet())) {
                throw new AssertionError("parameter names differ: " + a.keySet() + " vs " + b.keySet());
            }
            for (String key : a.keySet()) {
                Tensor x = a.get(key), y = b.get(key);
                if (!y.device().equals(CUDA) || x.dtype() != y.dtype() || !Arrays.equals(x.shape(), y.shape())
                        || x.requiresGrad() != y.requiresGrad() || !Arrays.equals(bytes(x), bytes(y))) {
                    throw new AssertionError(key + ": " + y.dtype() + " on " + y.device() + " differs from " + x.dtype());
                }
            }
            return a.size() + " parameters bitwise equal, all on " + CUDA;
        } finally {
            moved.release();
            direct.release();
        }
    }

    /** Host tensor bytes at the peak of a device load: one staging buffer (the largest tensor), not the model. */
    private static String hostPeak(Path dir) {
        long largest, total;
        try (WeightFolderReader w = WeightFolders.open(dir)) {
            largest = w.names().stream().mapToLong(w::byteSize).max().orElseThrow();
            total = w.names().stream().mapToLong(w::byteSize).sum();
        }
        long before = Backends.cpu().liveBytes();
        Backends.cpu().resetPeakLiveBytes();
        CausalLM direct = CausalLM.load(dir, CUDA);
        long peak = Backends.cpu().peakLiveBytes() - before;
        direct.release();
        Backends.cpu().resetPeakLiveBytes();
        CausalLM onHost = CausalLM.load(dir);
        long hostPeak = Backends.cpu().peakLiveBytes() - before;
        onHost.release();
        // the buffer rounds up to 4 KiB rows; the allocator's size classes may round once more
        if (peak > 2 * largest + 8192 || peak >= hostPeak) {
            throw new AssertionError("host peak " + peak + " bytes loading to the device; largest tensor " + largest
                    + ", whole model " + total + ", host load peak " + hostPeak);
        }
        return "host peak " + peak + " bytes (largest tensor " + largest + ", model " + total + ", a CPU load peaks at "
                + hostPeak + ")";
    }

    /** A BF16 Llama loaded to the device (frozen BF16 embedding looked up there, RoPE angles there) gives the CPU's logits. */
    private static String frozenModelMatches(Path dir) {
        CausalLM cpu = CausalLM.loadFrozen(dir, null, CausalLM.WeightInterceptor.NONE);
        CausalLM gpu = CausalLM.loadFrozen(dir, null, CausalLM.WeightInterceptor.NONE, CUDA);
        try {
            String table = gpu.inputEmbeddings().weight().dtype().toString();
            long[] ids = {1, 7, 3, 9, 2, 5, 4, 8};
            Tensor idsT = Tensor.ofLongs(ids, 2, 4);
            Tensor pos = Tensor.ofLongs(new long[] {0, 1, 2, 0, 0, 1, 2, 3}, 2, 4);
            Tensor seq = Tensor.ofLongs(new long[] {0, 0, 0, 1, 0, 0, 0, 0}, 2, 4);
            float[] a = cpu.logits(idsT, pos, seq).toFloatArray();
            float[] b = gpu.logits(idsT.to(CUDA), pos.to(CUDA), seq.to(CUDA)).toFloatArray();
            double worst = 0;
            for (int i = 0; i < a.length; i++) {
                worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(a[i])));
            }
            if (worst > 1e-4) {
                throw new AssertionError("packed logits differ by " + worst + " (relative)");
            }
            return "packed logits of the " + table + " model within " + worst + " of the CPU's";
        } finally {
            cpu.release();
            gpu.release();
        }
    }

    private static String badIdReadsAsOnTheCpu() {
        Tensor table = Tensor.of(new float[40], 10, 4).cast(DType.BF16);
        Tensor ids = Tensor.ofLongs(new long[] {2, 12}, 2);
        String onCpu = message(() -> table.embedding(ids));
        Tensor out = table.to(CUDA).embedding(ids.to(CUDA));   // no error yet: the ids were not read on the host
        String onGpu = message(() -> Backends.of(CUDA).synchronize());
        if (!onCpu.equals(onGpu) || out.numel() != 8) {
            throw new AssertionError("on the CPU '" + onCpu + "', on the device '" + onGpu + "'");
        }
        return "'" + onGpu + "' at the next synchronisation, as the CPU says it at once";
    }

    private static String message(Runnable r) {
        try {
            r.run();
        } catch (TesseraException e) {
            return e.getMessage();
        }
        throw new AssertionError("no error");
    }

    /** Angles gathered on the device equal the CPU's; an id past the tables is reported at the next synchronisation. */
    private static String anglesStayOnTheDevice() {
        RotaryEmbedding rope = new RotaryEmbedding(RotaryEmbedding.defaultInverseFrequencies(8, 10000.0));
        long[] p = {0, 1, 2, 3, 4, 0, 1, 2, 0, 1};
        RotaryEmbedding.Angles cpu = rope.angles(Tensor.ofLongs(p, 1, 10), 0.5f);
        RotaryEmbedding.Angles gpu = rope.angles(Tensor.ofLongs(p, 1, 10).to(CUDA), 0.5f);
        if (!Arrays.equals(cpu.cos().toFloatArray(), gpu.cos().toFloatArray())
                || !Arrays.equals(cpu.sin().toFloatArray(), gpu.sin().toFloatArray())) {
            throw new AssertionError("angles differ");
        }
        RotaryEmbedding fresh = new RotaryEmbedding(RotaryEmbedding.defaultInverseFrequencies(8, 10000.0));
        fresh.angles(Tensor.ofLongs(new long[] {0, 500}, 1, 2).to(CUDA), 1f);
        String error = message(() -> Backends.of(CUDA).synchronize());
        if (!error.equals("embedding: token id 500 out of range for a vocabulary of 64")) {
            throw new AssertionError("unexpected error: " + error);
        }
        return "angles bitwise equal to the CPU's; an id past the tables: '" + error + "'";
    }

    private DeviceLoadCheck() {}

    /** The checks' names, in the order they print. */
    public static List<String> names() {
        return List.of("load-f32", "load-frozen-auto", "load-frozen-f16", "load-host-peak", "frozen-embedding", "bad-id",
                "rotary-angles");
    }
}
