package dev.tessera.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The CPU backend's ops on the paths the model tests rarely take (casts between every dtype,
 * strided copies, fills of odd values and dtypes, reductions over a middle dimension, the
 * backward passes of softmax and the norms, ignored targets, out-of-range ids, AdamW), each
 * against a loop written out here in double. Sizes are odd so the vector tails run too.
 */
class CpuOpsReferenceTest {

    private static float[] ramp(int n, float scale, float shift) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (Math.sin(i * 1.37 + 0.3) * scale + shift);
        }
        return v;
    }

    @Test
    void castsBetweenEveryDtypeRoundAndTruncateAsPyTorch() {
        float[] values = {-3.75f, -1.5f, -0.25f, 0f, 0.5f, 1.99f, 2.5f, 7f, 200.6f, 255f, 1000.25f};
        Tensor f = Tensor.of(values, values.length);
        float[] bf16 = f.cast(DType.BF16).cast(DType.F32).toFloatArray();
        float[] f16 = f.cast(DType.F16).cast(DType.F32).toFloatArray();
        long[] i64 = f.cast(DType.I64).toLongArray();
        long[] i32 = f.cast(DType.I32).toLongArray();
        long[] u8 = f.cast(DType.U8).toLongArray();
        long[] bool = f.cast(DType.BOOL).toLongArray();
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            assertEquals(DType.bf16ToFloat(DType.floatToBf16(v)), bf16[i], "bf16 " + v);
            assertEquals(DType.f16ToFloat(DType.floatToF16(v)), f16[i], "f16 " + v);
            assertEquals((long) v, i64[i], "i64 truncates toward zero: " + v);
            assertEquals((long) v, i32[i], "i32 " + v);
            assertEquals(((long) v) & 0xFF, u8[i], "u8 wraps: " + v);
            assertEquals(v != 0 ? 1 : 0, bool[i], "bool " + v);
        }
        // integer to integer keeps the value (or wraps it into the narrower type)
        Tensor big = Tensor.ofLongs(new long[] {-2, 300, 1L << 33, 0}, 4);
        assertArrayEquals(new long[] {-2, 300, 0, 0}, big.cast(DType.I32).toLongArray(), "i64 -> i32 keeps the low 32 bits");
        assertArrayEquals(new long[] {254, 44, 0, 0}, big.cast(DType.U8).toLongArray());
        assertArrayEquals(new long[] {1, 1, 1, 0}, big.cast(DType.BOOL).toLongArray());
        assertArrayEquals(new float[] {-2, 300, 1L << 33, 0}, big.cast(DType.F32).toFloatArray());
        Tensor bytes = Tensor.ofInts(new int[] {7, -1, 0}, 3).cast(DType.U8);
        assertArrayEquals(new long[] {7, 255, 0}, bytes.cast(DType.I64).toLongArray(), "u8 reads back unsigned");
        assertArrayEquals(new float[] {7, 255, 0}, bytes.cast(DType.F32).toFloatArray());
        assertArrayEquals(new float[] {1, 1, 0}, bytes.cast(DType.BOOL).cast(DType.F32).toFloatArray());
        // 16-bit floats to each other and back through the generic path
        Tensor half = f.cast(DType.F16);
        assertArrayEquals(bf16, half.cast(DType.BF16).cast(DType.F32).toFloatArray(), 0.02f * 1001);
        assertArrayEquals(new long[] {-3, -1, 0, 0, 0, 1, 2, 7, 200, 255, 1000}, half.cast(DType.I64).toLongArray());
    }

    @Test
    void stridedCopiesOfEveryDtypeLandInPlace() {
        int rows = 5, cols = 7;
        float[] v = ramp(rows * cols, 40, 0);
        Tensor x = Tensor.of(v, rows, cols);
        for (DType t : DType.values()) {
            Tensor typed = x.cast(t);
            float[] transposed = typed.t().contiguous().cast(DType.F32).toFloatArray();
            float[] rounded = typed.cast(DType.F32).toFloatArray();
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    assertEquals(rounded[r * cols + c], transposed[c * rows + r], t + " [" + r + "," + c + "]");
                }
            }
            // a strided source into a strided destination of another dtype
            if (t != DType.F32) {
                Tensor dst = Tensor.zeros(DType.F32, Device.CPU, cols, rows);
                dst.t().copyFrom(typed);
                assertArrayEquals(transposed, dst.toFloatArray(), t.name());
            }
        }
        Tensor narrowed = x.narrow(1, 2, 3);
        float[] got = narrowed.contiguous().toFloatArray();
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < 3; c++) {
                assertEquals(v[r * cols + 2 + c], got[r * 3 + c]);
            }
        }
    }

    @Test
    void fillWritesEveryElementOfEveryDtype() {
        for (int n : new int[] {1, 17, 67}) {
            Tensor f = Tensor.ones(n).fill(-2.5);
            for (float e : f.toFloatArray()) {
                assertEquals(-2.5f, e);
            }
            Tensor z = Tensor.ones(n).fill(-0.0);
            for (float e : z.toFloatArray()) {
                assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(e), "-0.0 keeps its sign");
            }
            Tensor nan = Tensor.ones(n).fill(Double.NaN);
            for (float e : nan.toFloatArray()) {
                assertTrue(Float.isNaN(e));
            }
            for (float e : Tensor.ones(n).fill(0).toFloatArray()) {
                assertEquals(Float.floatToRawIntBits(0f), Float.floatToRawIntBits(e));
            }
        }
        assertArrayEquals(new float[] {1.5f, 1.5f, 1.5f}, Tensor.zeros(DType.BF16, Device.CPU, 3).fill(1.5).cast(DType.F32).toFloatArray());
        assertArrayEquals(new float[] {-0.75f, -0.75f}, Tensor.zeros(DType.F16, Device.CPU, 2).fill(-0.75).cast(DType.F32).toFloatArray());
        assertArrayEquals(new long[] {-7, -7, -7}, Tensor.zeros(DType.I64, Device.CPU, 3).fill(-7.9).toLongArray());
        assertArrayEquals(new long[] {9, 9}, Tensor.zeros(DType.I32, Device.CPU, 2).fill(9).toLongArray());
        assertArrayEquals(new long[] {1, 1}, Tensor.zeros(DType.BOOL, Device.CPU, 2).fill(3).toLongArray());
        // a view fills only its own elements
        Tensor base = Tensor.zeros(3, 4);
        base.narrow(1, 1, 2).fill(5);
        assertArrayEquals(new float[] {0, 5, 5, 0, 0, 5, 5, 0, 0, 5, 5, 0}, base.toFloatArray());
        Tensor row = Tensor.zeros(3, 4);
        row.narrow(0, 1, 1).fill(2);
        assertArrayEquals(new float[] {0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0}, row.toFloatArray(), "a contiguous view at an offset");
    }

    @Test
    void reductionsOverEachDimensionMatchLoops() {
        int a = 3, b = 5, c = 4;
        float[] v = ramp(a * b * c, 10, 1);
        v[17] = v[13]; // a tie in one column of the middle dimension
        Tensor x = Tensor.of(v, a, b, c);
        for (int dim = 0; dim < 3; dim++) {
            int[] shape = {a, b, c};
            int n = shape[dim];
            int outer = 1, inner = 1;
            for (int i = 0; i < dim; i++) {
                outer *= shape[i];
            }
            for (int i = dim + 1; i < 3; i++) {
                inner *= shape[i];
            }
            float[] sum = x.sum(dim, false).toFloatArray();
            float[] mean = x.mean(dim, false).toFloatArray();
            float[] max = x.max(dim, false).toFloatArray();
            float[] min = x.min(dim, false).toFloatArray();
            long[] argmax = x.argmax(dim, false).toLongArray();
            for (int o = 0; o < outer; o++) {
                for (int j = 0; j < inner; j++) {
                    double s = 0;
                    float hi = Float.NEGATIVE_INFINITY, lo = Float.POSITIVE_INFINITY;
                    int at = -1;
                    for (int i = 0; i < n; i++) {
                        float e = v[(o * n + i) * inner + j];
                        s += e;
                        if (e > hi) {
                            hi = e;
                            at = i;
                        }
                        lo = Math.min(lo, e);
                    }
                    int k = o * inner + j;
                    assertEquals(s, sum[k], 1e-4, "sum dim " + dim);
                    assertEquals(s / n, mean[k], 1e-5, "mean dim " + dim);
                    assertEquals(hi, max[k], "max dim " + dim);
                    assertEquals(lo, min[k], "min dim " + dim);
                    assertEquals(at, argmax[k], "argmax dim " + dim + " (the first of equal values)");
                }
            }
        }
    }

    @Test
    void maxAndMinOverAColumnPropagateNaNAndArgmaxPointsAtIt() {
        // dim 0 of a 3 x 2 tensor is the column-wise path; NaN wins wherever it sits
        Tensor x = Tensor.of(new float[] {1, 4, Float.NaN, 2, 3, 9}, 3, 2);
        float[] max = x.max(0, false).toFloatArray();
        float[] min = x.min(0, false).toFloatArray();
        assertTrue(Float.isNaN(max[0]) && Float.isNaN(min[0]));
        assertEquals(9f, max[1]);
        assertEquals(2f, min[1]);
        assertArrayEquals(new long[] {1, 2}, x.argmax(0, false).toLongArray());
        Tensor rows = Tensor.of(new float[] {1, Float.NaN, 3, 5, 2, 4}, 2, 3);
        assertTrue(Float.isNaN(rows.max(1, false).toFloatArray()[0]));
        assertTrue(Float.isNaN(rows.min(1, false).toFloatArray()[0]));
        assertArrayEquals(new float[] {5, 2}, new float[] {rows.max(1, false).toFloatArray()[1], rows.min(1, false).toFloatArray()[1]});
        assertThrows(TesseraException.class, () -> Tensor.zeros(2, 0).max(1, false));
        assertArrayEquals(new float[] {0, 0}, Tensor.zeros(2, 0).sum(1, false).toFloatArray(), "the sum of nothing is 0");
    }

    @Test
    void softmaxGradientsMatchTheirClosedForms() {
        int rows = 3, n = 19;
        float[] v = ramp(rows * n, 3, 0);
        float[] w = ramp(rows * n, 1, 0.2f);
        for (boolean log : new boolean[] {false, true}) {
            Tensor x = Tensor.of(v, rows, n).requiresGrad(true);
            Tensor y = log ? x.logSoftmax(1) : x.softmax(1);
            y.mul(Tensor.of(w, rows, n)).sum().backward();
            float[] got = x.grad().toFloatArray();
            float[] out = y.toFloatArray();
            for (int r = 0; r < rows; r++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int i = 0; i < n; i++) {
                    max = Math.max(max, v[r * n + i]);
                }
                double z = 0;
                for (int i = 0; i < n; i++) {
                    z += Math.exp(v[r * n + i] - max);
                }
                double dot = 0, wsum = 0;
                double[] p = new double[n];
                for (int i = 0; i < n; i++) {
                    p[i] = Math.exp(v[r * n + i] - max) / z;
                    dot += w[r * n + i] * p[i];
                    wsum += w[r * n + i];
                }
                for (int i = 0; i < n; i++) {
                    int k = r * n + i;
                    double value = log ? Math.log(p[i]) : p[i];
                    double grad = log ? w[k] - p[i] * wsum : p[i] * (w[k] - dot);
                    assertEquals(value, out[k], 1e-5, (log ? "log" : "") + "softmax");
                    assertEquals(grad, got[k], 1e-5, (log ? "log" : "") + "softmax grad [" + r + "," + i + "]");
                }
            }
        }
    }

    @Test
    void normsAndTheirGradientsMatchTheDefinitions() {
        int rows = 4, n = 21;
        float eps = 1e-5f;
        float[] v = ramp(rows * n, 2, 0.5f);
        float[] gw = ramp(n, 0.5f, 1);
        float[] gb = ramp(n, 0.3f, -0.1f);
        float[] dy = ramp(rows * n, 1, 0.1f);
        Tensor x = Tensor.of(v, rows, n).requiresGrad(true);
        Tensor weight = Tensor.of(gw, n).requiresGrad(true);
        Tensor bias = Tensor.of(gb, n).requiresGrad(true);
        Tensor y = x.layerNorm(weight, bias, eps);
        y.mul(Tensor.of(dy, rows, n)).sum().backward();
        float[] out = y.toFloatArray(), dx = x.grad().toFloatArray(), dw = weight.grad().toFloatArray(), db = bias.grad().toFloatArray();
        double[] dwRef = new double[n], dbRef = new double[n];
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < n; i++) {
                mean += v[r * n + i];
            }
            mean /= n;
            for (int i = 0; i < n; i++) {
                var += (v[r * n + i] - mean) * (v[r * n + i] - mean);
            }
            double rstd = 1 / Math.sqrt(var / n + eps);
            double[] xhat = new double[n], g = new double[n];
            double gsum = 0, gx = 0;
            for (int i = 0; i < n; i++) {
                int k = r * n + i;
                xhat[i] = (v[k] - mean) * rstd;
                g[i] = dy[k] * gw[i];
                gsum += g[i];
                gx += g[i] * xhat[i];
                dwRef[i] += dy[k] * xhat[i];
                dbRef[i] += dy[k];
                assertEquals(xhat[i] * gw[i] + gb[i], out[k], 1e-4, "layerNorm");
            }
            for (int i = 0; i < n; i++) {
                double ref = rstd * (g[i] - gsum / n - xhat[i] * gx / n);
                assertEquals(ref, dx[r * n + i], 1e-4, "layerNorm dx");
            }
        }
        for (int i = 0; i < n; i++) {
            assertEquals(dwRef[i], dw[i], 1e-4, "layerNorm dweight");
            assertEquals(dbRef[i], db[i], 1e-4, "layerNorm dbias");
        }

        Tensor x2 = Tensor.of(v, rows, n).requiresGrad(true);
        Tensor w2 = Tensor.of(gw, n).requiresGrad(true);
        Tensor y2 = x2.rmsNorm(w2, eps);
        y2.mul(Tensor.of(dy, rows, n)).sum().backward();
        float[] out2 = y2.toFloatArray(), dx2 = x2.grad().toFloatArray(), dw2 = w2.grad().toFloatArray();
        double[] dw2Ref = new double[n];
        for (int r = 0; r < rows; r++) {
            double ms = 0;
            for (int i = 0; i < n; i++) {
                ms += v[r * n + i] * v[r * n + i];
            }
            double rstd = 1 / Math.sqrt(ms / n + eps);
            double gx = 0;
            for (int i = 0; i < n; i++) {
                int k = r * n + i;
                gx += dy[k] * gw[i] * v[k];
                dw2Ref[i] += dy[k] * v[k] * rstd;
                assertEquals(v[k] * rstd * gw[i], out2[k], 1e-4, "rmsNorm");
            }
            for (int i = 0; i < n; i++) {
                int k = r * n + i;
                double ref = rstd * dy[k] * gw[i] - v[k] * rstd * rstd * rstd * gx / n;
                assertEquals(ref, dx2[k], 1e-4, "rmsNorm dx");
            }
        }
        for (int i = 0; i < n; i++) {
            assertEquals(dw2Ref[i], dw2[i], 1e-4, "rmsNorm dweight");
        }
    }

    @Test
    void normsWithoutAffineParametersAreThePlainNormalisation() {
        int rows = 2, n = 9;
        float[] v = ramp(rows * n, 3, 1);
        Tensor x = Tensor.of(v, rows, n).requiresGrad(true);
        Tensor y = x.layerNorm(null, null, 0f);
        y.mul(Tensor.of(ramp(rows * n, 1, 0), rows, n)).sum().backward();
        float[] out = y.toFloatArray();
        for (int r = 0; r < rows; r++) {
            double mean = 0, var = 0;
            for (int i = 0; i < n; i++) {
                mean += v[r * n + i];
            }
            mean /= n;
            for (int i = 0; i < n; i++) {
                var += Math.pow(v[r * n + i] - mean, 2);
            }
            for (int i = 0; i < n; i++) {
                assertEquals((v[r * n + i] - mean) / Math.sqrt(var / n), out[r * n + i], 1e-4);
            }
        }
        // the gradient of a normalised row is orthogonal to the constant and to the row itself
        float[] dx = x.grad().toFloatArray();
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int i = 0; i < n; i++) {
                s += dx[r * n + i];
            }
            assertEquals(0, s, 1e-4);
        }
        Tensor x2 = Tensor.of(v, rows, n).requiresGrad(true);
        float[] out2 = x2.rmsNorm(null, 0f).toFloatArray();
        for (int r = 0; r < rows; r++) {
            double ms = 0;
            for (int i = 0; i < n; i++) {
                ms += v[r * n + i] * v[r * n + i];
            }
            for (int i = 0; i < n; i++) {
                assertEquals(v[r * n + i] / Math.sqrt(ms / n), out2[r * n + i], 1e-4);
            }
        }
    }

    @Test
    void crossEntropySkipsIgnoredRowsAndRefusesTargetsOutOfRange() {
        int rows = 4, n = 11;
        float[] v = ramp(rows * n, 2, 0);
        long[] targets = {3, -100, 10, 0};
        Tensor x = Tensor.of(v, rows, n).requiresGrad(true);
        Tensor loss = x.crossEntropy(Tensor.ofLongs(targets, rows), -100);
        loss.backward();
        double total = 0;
        int counted = 0;
        double[][] p = new double[rows][n];
        for (int r = 0; r < rows; r++) {
            double z = 0;
            for (int i = 0; i < n; i++) {
                z += Math.exp(v[r * n + i]);
            }
            for (int i = 0; i < n; i++) {
                p[r][i] = Math.exp(v[r * n + i]) / z;
            }
            if (targets[r] != -100) {
                total -= Math.log(p[r][(int) targets[r]]);
                counted++;
            }
        }
        assertEquals(total / counted, loss.item(), 1e-5, "the mean over the rows that count");
        float[] g = x.grad().toFloatArray();
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < n; i++) {
                double ref = targets[r] == -100 ? 0 : (p[r][i] - (i == targets[r] ? 1 : 0)) / counted;
                assertEquals(ref, g[r * n + i], 1e-6, "dlogits [" + r + "," + i + "]");
            }
        }
        Tensor logits = Tensor.of(v, rows, n);
        TesseraException high = assertThrows(TesseraException.class,
                () -> logits.crossEntropy(Tensor.ofLongs(new long[] {0, 11, 0, 0}, rows)));
        assertTrue(high.getMessage().contains("11"), high.getMessage());
        assertThrows(TesseraException.class, () -> logits.crossEntropy(Tensor.ofLongs(new long[] {0, -1, 0, 0}, rows)));
    }

    @Test
    void embeddingGathersRowsAndItsGradientAddsRepeatedIds() {
        int vocab = 6, dim = 5;
        float[] table = ramp(vocab * dim, 1, 0);
        Tensor weight = Tensor.of(table, vocab, dim).requiresGrad(true);
        long[] ids = {4, 0, 4, 5, 4};
        Tensor out = weight.embedding(Tensor.ofLongs(ids, 5));
        float[] up = ramp(5 * dim, 1, 0.5f);
        out.mul(Tensor.of(up, 5, dim)).sum().backward();
        float[] rows = out.toFloatArray();
        double[] grad = new double[vocab * dim];
        for (int j = 0; j < ids.length; j++) {
            for (int d = 0; d < dim; d++) {
                assertEquals(table[(int) ids[j] * dim + d], rows[j * dim + d]);
                grad[(int) ids[j] * dim + d] += up[j * dim + d];
            }
        }
        float[] got = weight.grad().toFloatArray();
        for (int i = 0; i < grad.length; i++) {
            assertEquals(grad[i], got[i], 1e-5, "dweight " + i);
        }
        Tensor w = Tensor.of(table, vocab, dim);
        assertThrows(TesseraException.class, () -> w.embedding(Tensor.ofLongs(new long[] {6}, 1)));
        assertThrows(TesseraException.class, () -> w.embedding(Tensor.ofLongs(new long[] {-1}, 1)));
    }

    @Test
    void indexSelectAlongAMiddleDimensionAndItsGradient() {
        int a = 2, n = 5, c = 3;
        float[] v = ramp(a * n * c, 1, 0);
        Tensor x = Tensor.of(v, a, n, c).requiresGrad(true);
        long[] index = {4, 1, 1, 0};
        Tensor out = x.indexSelect(1, Tensor.ofLongs(index, 4));
        assertArrayEquals(new int[] {a, 4, c}, out.shape());
        float[] up = ramp(a * 4 * c, 1, 0.3f);
        out.mul(Tensor.of(up, a, 4, c)).sum().backward();
        float[] got = out.toFloatArray();
        double[] grad = new double[v.length];
        for (int o = 0; o < a; o++) {
            for (int j = 0; j < index.length; j++) {
                for (int k = 0; k < c; k++) {
                    int src = (o * n + (int) index[j]) * c + k, dst = (o * index.length + j) * c + k;
                    assertEquals(v[src], got[dst]);
                    grad[src] += up[dst];
                }
            }
        }
        float[] dx = x.grad().toFloatArray();
        for (int i = 0; i < v.length; i++) {
            assertEquals(grad[i], dx[i], 1e-6, "dx " + i);
        }
        Tensor plain = Tensor.of(v, a, n, c);
        assertThrows(TesseraException.class, () -> plain.indexSelect(1, Tensor.ofLongs(new long[] {5}, 1)));
        assertThrows(TesseraException.class, () -> plain.indexSelect(1, Tensor.ofLongs(new long[] {-1}, 1)));
    }

    @Test
    void adamwStepsMatchPyTorchsFormulaOverSeveralSteps() {
        int n = 37; // vector lanes and a scalar tail
        double lr = 1e-2, beta1 = 0.9, beta2 = 0.98, eps = 1e-6, wd = 0.1;
        float[] p0 = ramp(n, 1, 0), g0 = ramp(n, 0.5f, 0.1f);
        Tensor param = Tensor.of(p0, n), m = Tensor.zeros(n), v = Tensor.zeros(n);
        double[] p = new double[n], mm = new double[n], vv = new double[n];
        for (int i = 0; i < n; i++) {
            p[i] = p0[i];
        }
        for (long step = 1; step <= 3; step++) {
            float[] g = new float[n];
            for (int i = 0; i < n; i++) {
                g[i] = g0[i] * step - 0.05f * i;
            }
            Backends.cpu().adamw(param, Tensor.of(g, n), m, v, lr, beta1, beta2, eps, wd, step);
            for (int i = 0; i < n; i++) {
                p[i] *= 1 - lr * wd;
                mm[i] = beta1 * mm[i] + (1 - beta1) * g[i];
                vv[i] = beta2 * vv[i] + (1 - beta2) * g[i] * g[i];
                double mhat = mm[i] / (1 - Math.pow(beta1, step)), vhat = vv[i] / (1 - Math.pow(beta2, step));
                p[i] -= lr * mhat / (Math.sqrt(vhat) + eps);
            }
            float[] got = param.toFloatArray(), gm = m.toFloatArray(), gv = v.toFloatArray();
            for (int i = 0; i < n; i++) {
                assertEquals(p[i], got[i], 1e-5, "param " + i + " step " + step);
                assertEquals(mm[i], gm[i], 1e-6, "m " + i);
                assertEquals(vv[i], gv[i], 1e-7, "v " + i);
            }
        }
    }
}
