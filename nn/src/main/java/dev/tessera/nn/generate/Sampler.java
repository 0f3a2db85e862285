package dev.tessera.nn.generate;

import dev.tessera.core.Rng;
import java.util.Arrays;

/** Picks the next token from one row of logits: argmax, or temperature / top-k / top-p sampling (transformers' warpers). */
final class Sampler {
    private Sampler() {}

    /** The first index of the largest logit (torch.argmax). */
    static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    static int pick(float[] logits, GenerationConfig cfg, Rng rng) {
        if (cfg.isGreedy()) {
            return argmax(logits);
        }
        float[] scores = new float[logits.length];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = logits[i] / cfg.temperature();
        }
        if (cfg.topK() > 0 && cfg.topK() < scores.length) {
            topK(scores, cfg.topK());
        }
        if (cfg.topP() < 1) {
            topP(scores, cfg.topP());
        }
        return sample(softmax(scores), rng);
    }

    /** Keeps the scores >= the k-th largest (ties at the threshold stay, as transformers' TopKLogitsWarper). */
    static void topK(float[] scores, int k) {
        float[] sorted = scores.clone();
        Arrays.sort(sorted);
        float threshold = sorted[sorted.length - k];
        for (int i = 0; i < scores.length; i++) {
            if (scores[i] < threshold) {
                scores[i] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    /**
     * transformers' TopPLogitsWarper: in ascending order of score, drops tokens while the
     * cumulative probability stays <= 1 - topP; the best token always stays.
     */
    static void topP(float[] scores, float topP) {
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Float.compare(scores[a], scores[b]));
        float[] sortedScores = new float[scores.length];
        for (int i = 0; i < order.length; i++) {
            sortedScores[i] = scores[order[i]];
        }
        double[] probs = softmax(sortedScores);
        double cumulative = 0;
        for (int i = 0; i < order.length - 1; i++) {
            cumulative += probs[i];
            if (cumulative <= 1 - topP) {
                scores[order[i]] = Float.NEGATIVE_INFINITY;
            }
        }
    }

    static double[] softmax(float[] scores) {
        double max = Double.NEGATIVE_INFINITY;
        for (float s : scores) {
            max = Math.max(max, s);
        }
        double[] p = new double[scores.length];
        double sum = 0;
        for (int i = 0; i < scores.length; i++) {
            p[i] = scores[i] == Float.NEGATIVE_INFINITY ? 0 : Math.exp(scores[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** Inverse-CDF draw from {@code probs}. */
    static int sample(double[] probs, Rng rng) {
        double u = rng.nextDouble();
        double cumulative = 0;
        int last = 0;
        for (int i = 0; i < probs.length; i++) {
            if (probs[i] > 0) {
                cumulative += probs[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return last; // rounding left u above the total
    }
}
