package dev.tessera.training.optim;

import dev.tessera.core.Autograd;
import dev.tessera.core.Scope;
import dev.tessera.core.Tensor;
import java.util.List;

/** Global-norm gradient clipping, as {@code torch.nn.utils.clip_grad_norm_}. */
public final class GradClipping {
    private GradClipping() {}

    /**
     * Scales every gradient by min(1, maxNorm / (total + 1e-6)) where total is the L2 norm of all
     * gradients together; returns total (before clipping).
     */
    public static double clipGradNorm(List<Tensor> params, double maxNorm) {
        double sumSquares = 0;
        try (var ng = Autograd.noGrad(); var scope = Scope.open()) {
            for (Tensor p : params) {
                if (p.grad() != null) {
                    double n = p.grad().pow(2f).sum().item();
                    sumSquares += n;
                }
            }
            double total = Math.sqrt(sumSquares);
            double coef = maxNorm / (total + 1e-6);
            if (coef < 1) {
                for (Tensor p : params) {
                    if (p.grad() != null) {
                        p.grad().mulInPlace((float) coef);
                    }
                }
            }
            return total;
        }
    }
}
