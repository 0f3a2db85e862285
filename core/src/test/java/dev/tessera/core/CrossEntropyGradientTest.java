package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The gradient of {@link Tensor#crossEntropy} (the unfused loss; the models use the fused one):
 * (softmax(x) − one-hot(target)) / (number of targets not ignored), zero on ignored rows.
 */
class CrossEntropyGradientTest {
    @Test
    void theGradientIsSoftmaxMinusOneHotOverTheCountedRows() {
        int rows = 3, classes = 5;
        float[] logits = {0.5f, -1f, 2f, 0f, 0.25f, 3f, 1f, -2f, 0.5f, 0f, -0.5f, 0.75f, 1.5f, -1f, 2.5f};
        long[] targets = {2, -100, 4};
        Tensor x = Tensor.of(logits, rows, classes).requiresGrad(true);
        Tensor loss = x.crossEntropy(Tensor.ofLongs(targets, rows));
        loss.backward();
        float[] grad = x.grad().toFloatArray();
        double counted = 2;
        double expectedLoss = 0;
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, logits[r * classes + c]);
            }
            for (int c = 0; c < classes; c++) {
                sum += Math.exp(logits[r * classes + c] - max);
            }
            for (int c = 0; c < classes; c++) {
                double softmax = Math.exp(logits[r * classes + c] - max) / sum;
                double want = targets[r] < 0 ? 0 : (softmax - (c == targets[r] ? 1 : 0)) / counted;
                assertEquals(want, grad[r * classes + c], 1e-6, "row " + r + " class " + c);
            }
            if (targets[r] >= 0) {
                expectedLoss += (Math.log(sum) + max - logits[r * classes + (int) targets[r]]) / counted;
            }
        }
        assertEquals(expectedLoss, loss.item(), 1e-6);
    }
}
