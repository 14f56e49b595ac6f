package dev.jvq.train;

import static dev.jvq.runtime.Float64Ops.add;
import static dev.jvq.runtime.Float64Ops.matvec;
import static dev.jvq.runtime.Float64Ops.read;
import static dev.jvq.runtime.Float64Ops.rmsnorm;
import static dev.jvq.runtime.Float64Ops.rotate;

import dev.jvq.backend.RopeStyle;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import dev.jvq.runtime.DenseLinear;

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
                double[] xn = rmsnorm(x, rmsAtt[l], c.normEps());
                double[] q = matvec(w[l][LinearKind.Q.ordinal()], xn, heads * hd);
                double[] k = matvec(w[l][LinearKind.K.ordinal()], xn, kvDim);
                keys[l][pos] = k;
                values[l][pos] = matvec(w[l][LinearKind.V.ordinal()], xn, kvDim);
                rotate(q, heads, hd, c.ropeStyle() == RopeStyle.HALVES, invFreq, pos);
                rotate(k, c.nKvHeads(), hd, c.ropeStyle() == RopeStyle.HALVES, invFreq, pos);
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
                double[] mIn = rmsnorm(x, rmsFfn[l], c.normEps());
                double[] gate = matvec(w[l][LinearKind.GATE.ordinal()], mIn, c.hiddenDim());
                double[] up = matvec(w[l][LinearKind.UP.ordinal()], mIn, c.hiddenDim());
                for (int i = 0; i < gate.length; i++) {
                    gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                }
                add(x, matvec(w[l][LinearKind.DOWN.ordinal()], gate, dim));
            }
            double[] logits = matvec(head, rmsnorm(x, rmsFinal, c.normEps()), c.vocabSize());
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
}
