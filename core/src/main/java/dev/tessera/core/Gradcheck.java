package dev.tessera.core;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Function;

/**
 * Compares autograd's gradients with central finite differences. The function's output is
 * projected on a fixed random tensor r, L = Σ y·r, accumulated in double; each input element is
 * nudged by ±eps and (L₊ − L₋)/2eps is compared with the analytic dL/dx.
 *
 * <pre>{@code
 * Tensor x = new Rng(0).randn(3, 4).requiresGrad(true);
 * Gradcheck.Result r = Gradcheck.check(in -> in[0].tanh(), new Tensor[] {x}, 1e-2, 1e-2, 1e-2);
 * assert r.ok() : r;
 * }</pre>
 *
 * Inputs that require grad must be contiguous F32 leaves (build non-contiguous views inside the
 * function); compute is F32, so eps around 1e-2 to 1e-3 balances truncation and rounding error.
 */
public final class Gradcheck {
    private Gradcheck() {}

    /** Outcome: the largest absolute and relative errors and where the worst one was. */
    public record Result(boolean ok, double maxAbsError, double maxRelError, String worst) {}

    public static Result check(Function<Tensor[], Tensor> f, Tensor[] inputs, double eps, double atol, double rtol) {
        Tensor probe;
        try (var ng = Autograd.noGrad()) {
            probe = f.apply(inputs);
        }
        Rng rng = new Rng(12345);
        float[] r = new float[Math.toIntExact(probe.numel())];
        for (int i = 0; i < r.length; i++) {
            r[i] = (float) rng.nextGaussian();
        }
        Tensor rt = Tensor.of(r, probe.shape());
        for (Tensor in : inputs) {
            if (in.requiresGrad()) {
                in.zeroGrad();
            }
        }
        Tensor y = f.apply(inputs);
        y.backward(rt);

        boolean ok = true;
        double maxAbs = 0, maxRel = 0;
        String worst = "none";
        for (int k = 0; k < inputs.length; k++) {
            Tensor in = inputs[k];
            if (!in.requiresGrad()) {
                continue;
            }
            if (!in.isContiguous() || in.dtype() != DType.F32) {
                throw new TesseraException("gradcheck: input " + k + " must be a contiguous F32 leaf");
            }
            float[] analytic = in.grad() == null ? new float[(int) in.numel()] : in.grad().toFloatArray();
            MemorySegment data = in.dataSegment();
            for (int i = 0; i < analytic.length; i++) {
                float orig = data.get(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4L);
                data.set(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4L, (float) (orig + eps));
                double plus = project(f, inputs, r);
                data.set(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4L, (float) (orig - eps));
                double minus = project(f, inputs, r);
                data.set(ValueLayout.JAVA_FLOAT_UNALIGNED, i * 4L, orig);
                double numeric = (plus - minus) / (2 * eps);
                double abs = Math.abs(numeric - analytic[i]);
                double rel = abs / Math.max(Math.abs(numeric), 1e-12);
                if (abs > atol + rtol * Math.abs(numeric)) {
                    ok = false;
                }
                if (abs > maxAbs) {
                    maxAbs = abs;
                    worst = "input " + k + " element " + i + ": numeric " + numeric + " vs analytic " + analytic[i];
                }
                maxRel = Math.max(maxRel, Math.min(rel, abs));
            }
        }
        return new Result(ok, maxAbs, maxRel, worst);
    }

    private static double project(Function<Tensor[], Tensor> f, Tensor[] inputs, float[] r) {
        try (var ng = Autograd.noGrad(); var scope = Scope.open()) {
            float[] y = f.apply(inputs).toFloatArray();
            double sum = 0;
            for (int i = 0; i < y.length; i++) {
                sum += (double) y[i] * r[i];
            }
            return sum;
        }
    }
}
