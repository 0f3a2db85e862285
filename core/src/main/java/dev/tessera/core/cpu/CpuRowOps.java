package dev.tessera.core.cpu;

import static dev.tessera.core.cpu.CpuBackend.*;

import dev.tessera.core.DType;
import dev.tessera.core.Packed4Bit;
import dev.tessera.core.Tensor;
import dev.tessera.core.TesseraException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/** {@link CpuBackend}'s row kernels: softmax, layer norm, RMS norm and cross entropy, forward and backward, parallel over rows. */
final class CpuRowOps {
    private CpuRowOps() {}

    static void softmax(Tensor x, Tensor out, int rows, int n, boolean log) {
        MemorySegment xs = seg(x), os = seg(out);
        long xo = x.offset() * 4, oo = out.offset() * 4;
        Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(n, 1)), (from, to) -> {
            for (long r = from; r < to; r++) {
                Rows.softmax(xs, xo + r * n * 4, os, oo + r * n * 4, n, log);
            }
        });
    }


    static void softmaxBackward(Tensor y, Tensor dy, Tensor dx, int rows, int n, boolean log) {
        MemorySegment ys = seg(y), gs = seg(dy), ds = seg(dx);
        long yo = y.offset() * 4, go = dy.offset() * 4, dso = dx.offset() * 4;
        Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(n, 1)), (from, to) -> {
            for (long r = from; r < to; r++) {
                long off = r * n * 4;
                if (log) {
                    // dx = dy - exp(y) * sum(dy)
                    float s = Rows.sum(gs, go + off, n);
                    for (int i = 0; i < n; i++) {
                        float yi = ys.get(FL, yo + off + i * 4L);
                        ds.set(FL, dso + off + i * 4L, gs.get(FL, go + off + i * 4L) - (float) Math.exp(yi) * s);
                    }
                } else {
                    // dx = y * (dy - sum(dy * y))
                    float dot = Rows.dot(gs, go + off, ys, yo + off, n);
                    for (int i = 0; i < n; i++) {
                        float yi = ys.get(FL, yo + off + i * 4L);
                        ds.set(FL, dso + off + i * 4L, yi * (gs.get(FL, go + off + i * 4L) - dot));
                    }
                }
            }
        });
    }


    static void layerNorm(Tensor x, Tensor w, Tensor b, float eps, Tensor y, Tensor mean, Tensor rstd, int rows, int n) {
        MemorySegment xs = seg(x), ys = seg(y), ms = seg(mean), rs = seg(rstd);
        MemorySegment wsg = w == null ? null : seg(w), bsg = b == null ? null : seg(b);
        long xo = x.offset() * 4, yo = y.offset() * 4, wo = w == null ? 0 : w.offset() * 4, bo = b == null ? 0 : b.offset() * 4;
        long mo = mean.offset() * 4, ro = rstd.offset() * 4;
        Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(n, 1)), (from, to) -> {
            for (long r = from; r < to; r++) {
                long off = r * n * 4;
                float mu = Rows.sum(xs, xo + off, n) / n;
                float var = Rows.sumSquaredDiff(xs, xo + off, n, mu) / n;
                float rs1 = (float) (1 / Math.sqrt(var + eps));
                ms.set(FL, mo + r * 4, mu);
                rs.set(FL, ro + r * 4, rs1);
                for (int i = 0; i < n; i++) {
                    float v = (xs.get(FL, xo + off + i * 4L) - mu) * rs1;
                    if (wsg != null) {
                        v *= wsg.get(FL, wo + i * 4L);
                    }
                    if (bsg != null) {
                        v += bsg.get(FL, bo + i * 4L);
                    }
                    ys.set(FL, yo + off + i * 4L, v);
                }
            }
        });
    }


    static void layerNormBackward(Tensor x, Tensor w, Tensor mean, Tensor rstd, Tensor dy,
                                  Tensor dx, Tensor dw, Tensor db, int rows, int n) {
        MemorySegment xs = seg(x), ms = seg(mean), rs = seg(rstd), gs = seg(dy);
        MemorySegment wsg = w == null ? null : seg(w), dxs = dx == null ? null : seg(dx);
        long xo = x.offset() * 4, mo = mean.offset() * 4, ro = rstd.offset() * 4, go = dy.offset() * 4;
        long wo = w == null ? 0 : w.offset() * 4, dxo = dx == null ? 0 : dx.offset() * 4;
        int chunks = Math.max(1, Math.min(Parallel.threads(), rows));
        float[][] dwPart = new float[chunks][dw == null ? 0 : n];
        float[][] dbPart = new float[chunks][db == null ? 0 : n];
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            for (long c = c0; c < c1; c++) {
                long r0 = rows * c / chunks, r1 = rows * (c + 1) / chunks;
                float[] dwp = dwPart[(int) c], dbp = dbPart[(int) c];
                for (long r = r0; r < r1; r++) {
                    long off = r * n * 4;
                    float mu = ms.get(FL, mo + r * 4), rs1 = rs.get(FL, ro + r * 4);
                    float sumG = 0, sumGX = 0;
                    for (int i = 0; i < n; i++) {
                        float xhat = (xs.get(FL, xo + off + i * 4L) - mu) * rs1;
                        float g = gs.get(FL, go + off + i * 4L);
                        float gw = wsg == null ? g : g * wsg.get(FL, wo + i * 4L);
                        sumG += gw;
                        sumGX += gw * xhat;
                        if (dw != null) {
                            dwp[i] += g * xhat;
                        }
                        if (db != null) {
                            dbp[i] += g;
                        }
                    }
                    if (dxs != null) {
                        float meanG = sumG / n, meanGX = sumGX / n;
                        for (int i = 0; i < n; i++) {
                            float xhat = (xs.get(FL, xo + off + i * 4L) - mu) * rs1;
                            float g = gs.get(FL, go + off + i * 4L);
                            float gw = wsg == null ? g : g * wsg.get(FL, wo + i * 4L);
                            dxs.set(FL, dxo + off + i * 4L, rs1 * (gw - meanG - xhat * meanGX));
                        }
                    }
                }
            }
        });
        if (dw != null) {
            Rows.writeSum(dwPart, seg(dw), dw.offset() * 4, n);
        }
        if (db != null) {
            Rows.writeSum(dbPart, seg(db), db.offset() * 4, n);
        }
    }


    static void rmsNorm(Tensor x, Tensor w, float eps, Tensor y, Tensor rstd, int rows, int n) {
        MemorySegment xs = seg(x), ys = seg(y), rs = seg(rstd);
        MemorySegment wsg = w == null ? null : seg(w);
        long xo = x.offset() * 4, yo = y.offset() * 4, ro = rstd.offset() * 4, wo = w == null ? 0 : w.offset() * 4;
        Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(n, 1)), (from, to) -> {
            for (long r = from; r < to; r++) {
                long off = r * n * 4;
                float ms1 = Rows.dot(xs, xo + off, xs, xo + off, n) / n;
                float rs1 = (float) (1 / Math.sqrt(ms1 + eps));
                rs.set(FL, ro + r * 4, rs1);
                for (int i = 0; i < n; i++) {
                    float v = xs.get(FL, xo + off + i * 4L) * rs1;
                    if (wsg != null) {
                        v *= wsg.get(FL, wo + i * 4L);
                    }
                    ys.set(FL, yo + off + i * 4L, v);
                }
            }
        });
    }


    static void rmsNormBackward(Tensor x, Tensor w, Tensor rstd, Tensor dy, Tensor dx, Tensor dw, int rows, int n) {
        MemorySegment xs = seg(x), rs = seg(rstd), gs = seg(dy);
        MemorySegment wsg = w == null ? null : seg(w), dxs = dx == null ? null : seg(dx);
        long xo = x.offset() * 4, ro = rstd.offset() * 4, go = dy.offset() * 4;
        long wo = w == null ? 0 : w.offset() * 4, dxo = dx == null ? 0 : dx.offset() * 4;
        int chunks = Math.max(1, Math.min(Parallel.threads(), rows));
        float[][] dwPart = new float[chunks][dw == null ? 0 : n];
        Parallel.forRange(chunks, 1, (c0, c1) -> {
            for (long c = c0; c < c1; c++) {
                long r0 = rows * c / chunks, r1 = rows * (c + 1) / chunks;
                float[] dwp = dwPart[(int) c];
                for (long r = r0; r < r1; r++) {
                    long off = r * n * 4;
                    float rs1 = rs.get(FL, ro + r * 4);
                    float sumGX = 0;
                    for (int i = 0; i < n; i++) {
                        float xhat = xs.get(FL, xo + off + i * 4L) * rs1;
                        float g = gs.get(FL, go + off + i * 4L);
                        float gw = wsg == null ? g : g * wsg.get(FL, wo + i * 4L);
                        sumGX += gw * xhat;
                        if (dw != null) {
                            dwp[i] += g * xhat;
                        }
                    }
                    if (dxs != null) {
                        float meanGX = sumGX / n;
                        for (int i = 0; i < n; i++) {
                            float xhat = xs.get(FL, xo + off + i * 4L) * rs1;
                            float g = gs.get(FL, go + off + i * 4L);
                            float gw = wsg == null ? g : g * wsg.get(FL, wo + i * 4L);
                            dxs.set(FL, dxo + off + i * 4L, rs1 * (gw - xhat * meanGX));
                        }
                    }
                }
            }
        });
        if (dw != null) {
            Rows.writeSum(dwPart, seg(dw), dw.offset() * 4, n);
        }
    }


    static void crossEntropy(Tensor logits, Tensor targets, long ignoreIndex, Tensor loss, Tensor lse, int rows, int n) {
        MemorySegment xs = seg(logits), ts = seg(targets), ls = seg(loss), es = seg(lse);
        long xo = logits.offset() * 4, to0 = targets.offset() * 8, lo = loss.offset() * 4, eo = lse.offset() * 4;
        Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(n, 1)), (from, to) -> {
            for (long r = from; r < to; r++) {
                long off = xo + r * n * 4;
                float logSumExp = Rows.logSumExp(xs, off, n);
                es.set(FL, eo + r * 4, logSumExp);
                long t = ts.get(LL, to0 + r * 8);
                if (t != ignoreIndex && (t < 0 || t >= n)) {
                    throw new TesseraException("crossEntropy: target " + t + " out of range for " + n + " classes");
                }
                ls.set(FL, lo + r * 4, t == ignoreIndex ? 0f : logSumExp - xs.get(FL, off + t * 4));
            }
        });
    }


    static void crossEntropyBackward(Tensor logits, Tensor targets, Tensor lse, long ignoreIndex, float scale,
                                     Tensor dlogits, int rows, int n) {
        MemorySegment xs = seg(logits), ts = seg(targets), es = seg(lse), ds = seg(dlogits);
        long xo = logits.offset() * 4, to0 = targets.offset() * 8, eo = lse.offset() * 4, dso = dlogits.offset() * 4;
        Parallel.forRange(rows, Math.max(1, GRAIN / Math.max(n, 1)), (from, to) -> {
            for (long r = from; r < to; r++) {
                long off = r * n * 4;
                long t = ts.get(LL, to0 + r * 8);
                if (t == ignoreIndex) {
                    ds.asSlice(dso + off, n * 4L).fill((byte) 0);
                    continue;
                }
                float shift = es.get(FL, eo + r * 4);
                Rows.expShiftScale(xs, xo + off, ds, dso + off, n, shift, scale);
                ds.set(FL, dso + off + t * 4, ds.get(FL, dso + off + t * 4) - scale);
            }
        });
    }
}
