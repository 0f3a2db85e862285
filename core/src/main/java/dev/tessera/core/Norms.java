package dev.tessera.core;

import static dev.tessera.core.Autograd.needsGrad;

/** Fused layer norm and RMS norm over the last dimension. */
final class Norms {
    private Norms() {}

    // x is (..., C); weight, bias are (C)
    static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps) {
        int c = lastDim(x, "layerNorm");
        checkParam(weight, c, "layerNorm weight");
        checkParam(bias, c, "layerNorm bias");
        Tensor xc = x.contiguous();
        Tensor w = weight == null ? null : weight.contiguous();
        Tensor b = bias == null ? null : bias.contiguous();
        int rows = (int) (x.numel() / Math.max(c, 1));
        Tensor y = Tensor.empty(DType.F32, x.device(), x.shape());
        Tensor mean = Tensor.empty(DType.F32, x.device(), rows);
        Tensor rstd = Tensor.empty(DType.F32, x.device(), rows);
        x.backend().layerNorm(xc, w, b, eps, y, mean, rstd, rows, c);
        return Autograd.record("layer_norm", y, g -> {
            Tensor dx = needsGrad(xc) ? Tensor.empty(DType.F32, g.device(), xc.shape()) : null;
            Tensor dw = needsGrad(w) ? Tensor.empty(DType.F32, g.device(), c) : null;
            Tensor db = needsGrad(b) ? Tensor.empty(DType.F32, g.device(), c) : null;
            xc.backend().layerNormBackward(xc, w, mean, rstd, g.contiguous(), dx, dw, db, rows, c);
            return new Tensor[] {dx, dw, db};
        }, xc, w, b);
    }

    // x is (..., C); weight is (C)
    static Tensor rmsNorm(Tensor x, Tensor weight, float eps) {
        int c = lastDim(x, "rmsNorm");
        checkParam(weight, c, "rmsNorm weight");
        Tensor xc = x.contiguous();
        Tensor w = weight == null ? null : weight.contiguous();
        int rows = (int) (x.numel() / Math.max(c, 1));
        Tensor y = Tensor.empty(DType.F32, x.device(), x.shape());
        Tensor rstd = Tensor.empty(DType.F32, x.device(), rows);
        x.backend().rmsNorm(xc, w, eps, y, rstd, rows, c);
        return Autograd.record("rms_norm", y, g -> {
            Tensor dx = needsGrad(xc) ? Tensor.empty(DType.F32, g.device(), xc.shape()) : null;
            Tensor dw = needsGrad(w) ? Tensor.empty(DType.F32, g.device(), c) : null;
            xc.backend().rmsNormBackward(xc, w, rstd, g.contiguous(), dx, dw, rows, c);
            return new Tensor[] {dx, dw};
        }, xc, w);
    }

    private static int lastDim(Tensor x, String op) {
        if (x.dim() == 0) {
            throw new TesseraException(op + " needs at least one dimension");
        }
        if (x.dtype() != DType.F32) {
            throw new TesseraException(op + " computes in F32, got " + x.dtype());
        }
        return x.size(-1);
    }

    private static void checkParam(Tensor p, int c, String what) {
        if (p != null && (p.dim() != 1 || p.size(0) != c || p.dtype() != DType.F32)) {
            throw new TesseraException(what + " must be F32 [" + c + "], got " + p.dtype() + " " + Shapes.str(p.shape()));
        }
    }
}
