package dev.jvq.train;

import dev.jvq.backend.RopeStyle;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A float64 next-token loss for finite differences: one token at a time with a KV cache, written
 * from the model description alone (not from {@link Backward}). Block weights are plain arrays the
 * test perturbs in place. RoPE frequencies are recomputed from theta (no scaling), rounded to f32 like the engine's.
 */
final class ReferenceLoss {
    final LlamaConfig c;
    final double[][][] w;
    final double[] emb;
    final double[][] rmsAtt;
    final double[][] rmsFfn;
    final double[] rmsFinal;
    final double[] head;
    final double[] invFreq;

    ReferenceLoss(LlamaModel m) {
        c = m.config();
        w = new double[c.nLayers()][LinearKind.values().length][];
        rmsAtt = new double[c.nLayers()][];
        rmsFfn = new double[c.nLayers()][];
        for (int l = 0; l < c.nLayers(); l++) {
            for (LinearKind k : LinearKind.values()) {
                w[l][k.ordinal()] = read(((DenseLinear) m.linear(l, k)).weight());
            }
            rmsAtt[l] = read(m.attnNorm(l));
            rmsFfn[l] = read(m.ffnNorm(l));
        }
        emb = read(m.embedding());
        rmsFinal = read(m.finalNorm());
        head = read(((DenseLinear) m.head()).weight());
        int hd = c.headDim();
        invFreq = new double[hd / 2];
        for (int i = 0; i < invFreq.length; i++) {
            // Rounded to f32 as the engine stores them: the frequencies are part of the model as run.
            invFreq[i] = (float) (1.0 / Math.pow(c.ropeTheta(), 2.0 * i / hd));
        }
    }

    static double[] read(Tensor t) {
        MemorySegment s = t.data();
        double[] d = new double[(int) t.elements()];
        for (int i = 0; i < d.length; i++) {
            d[i] = s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
        }
        return d;
    }

    /** Mean over t < T−1 of −log p(tokens[t+1] | tokens[0..t]). */
    double loss(int[] tokens) {
        int dim = c.dim();
        int hd = c.headDim();
        int kvDim = c.kvDim();
        int heads = c.nHeads();
        int group = heads / c.nKvHeads();
        int n = tokens.length - 1;
        double[][][] keys = new double[c.nLayers()][n][];
        double[][][] values = new double[c.nLayers()][n][];
        double nll = 0;
        for (int pos = 0; pos < n; pos++) {
            double[] x = new double[dim];
            System.arraycopy(emb, tokens[pos] * dim, x, 0, dim);
            for (int l = 0; l < c.nLayers(); l++) {
                double[] xn = rmsnorm(x, rmsAtt[l]);
                double[] q = matvec(w[l][LinearKind.Q.ordinal()], xn, heads * hd);
                double[] k = matvec(w[l][LinearKind.K.ordinal()], xn, kvDim);
                keys[l][pos] = k;
                values[l][pos] = matvec(w[l][LinearKind.V.ordinal()], xn, kvDim);
                rotate(q, heads, pos);
                rotate(k, c.nKvHeads(), pos);
                double[] out = new double[heads * hd];
                for (int h = 0; h < heads; h++) {
                    int g = (h / group) * hd;
                    double[] score = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s <= pos; s++) {
                        double dot = 0;
                        for (int e = 0; e < hd; e++) {
                            dot += q[h * hd + e] * keys[l][s][g + e];
                        }
                        score[s] = dot / Math.sqrt(hd);
                        max = Math.max(max, score[s]);
                    }
                    double sum = 0;
                    for (int s = 0; s <= pos; s++) {
                        score[s] = Math.exp(score[s] - max);
                        sum += score[s];
                    }
                    for (int s = 0; s <= pos; s++) {
                        for (int e = 0; e < hd; e++) {
                            out[h * hd + e] += score[s] / sum * values[l][s][g + e];
                        }
                    }
                }
                add(x, matvec(w[l][LinearKind.O.ordinal()], out, dim));
                double[] mIn = rmsnorm(x, rmsFfn[l]);
                double[] gate = matvec(w[l][LinearKind.GATE.ordinal()], mIn, c.hiddenDim());
                double[] up = matvec(w[l][LinearKind.UP.ordinal()], mIn, c.hiddenDim());
                for (int i = 0; i < gate.length; i++) {
                    gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                }
                add(x, matvec(w[l][LinearKind.DOWN.ordinal()], gate, dim));
            }
            double[] logits = matvec(head, rmsnorm(x, rmsFinal), c.vocabSize());
            double max = Double.NEGATIVE_INFINITY;
            for (double v : logits) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (double v : logits) {
                sum += Math.exp(v - max);
            }
            nll += Math.log(sum) + max - logits[tokens[pos + 1]];
        }
        return nll / n;
    }

    // keys[l][pos] holds the rotated key: rotate() works in place on the array stored there.
    private void rotate(double[] v, int nHeads, int pos) {
        int hd = c.headDim();
        boolean halves = c.ropeStyle() == RopeStyle.HALVES;
        for (int h = 0; h < nHeads; h++) {
            for (int i = 0; i < hd / 2; i++) {
                int a = h * hd + (halves ? i : 2 * i);
                int b = halves ? a + hd / 2 : a + 1;
                double angle = pos * invFreq[i];
                double x0 = v[a];
                double x1 = v[b];
                v[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
                v[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
            }
        }
    }

    private double[] rmsnorm(double[] x, double[] wt) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + c.normEps());
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * wt[i];
        }
        return out;
    }

    private static double[] matvec(double[] m, double[] x, int rows) {
        double[] y = new double[rows];
        int cols = x.length;
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int j = 0; j < cols; j++) {
                s += m[r * cols + j] * x[j];
            }
            y[r] = s;
        }
        return y;
    }

    private static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }
}
