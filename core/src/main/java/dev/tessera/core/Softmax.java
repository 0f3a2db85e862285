package dev.tessera.core;

/** Fused softmax and log-softmax over one dimension, with the backend's row-wise kernels. */
final class Softmax {
    private Softmax() {}

    // x (..., n) F32 -> y (..., n); other dims are moved last and back by transposes
    // backward: dx = y * (g - sum(g * y)) for softmax, g - softmax(x) * sum(g) for log-softmax (the backend's)
    static Tensor softmax(Tensor input, int dim, boolean log) {
        input.requireFloat(log ? "logSoftmax" : "softmax");
        int[] shape = input.shape();
        int d = Shapes.axis(dim, shape.length);
        if (d != shape.length - 1) {
            return softmax(input.transpose(d, -1), -1, log).transpose(d, -1);
        }
        Tensor x = input.contiguous();
        int n = shape.length == 0 ? 1 : shape[shape.length - 1];
        int rows = n == 0 ? 0 : (int) (x.numel() / n);
        Tensor out = Tensor.empty(DType.F32, x.device(), shape);
        x.backend().softmax(x, out, rows, n, log);
        return Autograd.record(log ? "log_softmax" : "softmax", out, g -> {
            Tensor dx = Tensor.empty(DType.F32, g.device(), shape);
            out.backend().softmaxBackward(out, g.contiguous(), dx, rows, n, log);
            return new Tensor[] {dx};
        }, x);
    }
}
