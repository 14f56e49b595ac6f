package dev.jvq.train;

import dev.jvq.backend.Backend;
import dev.jvq.backend.RopeStyle;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import dev.jvq.runtime.DenseLinear;
import dev.jvq.runtime.Linear;
import dev.jvq.runtime.RopeFrequencies;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Back-propagation of the next-token cross-entropy through a Llama model with dense linear layers,
 * for the Fisher statistics of RSAVQ. It mirrors {@link dev.jvq.runtime.Transformer}'s math exactly
 * (RMSNorm with weight and the config's eps, RoPE in either style with the engine's frequencies,
 * causal GQA softmax attention, SwiGLU, tied or separate head) on one sequence at a time, keeping
 * every activation the backward pass reads. Weights are copied to float64 once, at construction.
 *
 * <p>Only the block linears get gradients (embedding, norms and head are held fixed); the loss is
 * the mean over positions 0..T−2 of −log p(token[t+1] | tokens[0..t]).
 */
public final class Backward {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final LlamaModel model;
    private final LlamaConfig c;
    private final MatrixProducts products;
    private final double[][][] weights;
    private final double[][] attnNorm;
    private final double[][] ffnNorm;
    private final double[] finalNorm;
    private final double[] head;
    private final double[] invFreq;

    public Backward(LlamaModel model, Backend backend, Precision precision) {
        this.model = model;
        this.c = model.config();
        this.products = new MatrixProducts(precision, backend);
        int layers = c.nLayers();
        weights = new double[layers][LinearKind.values().length][];
        attnNorm = new double[layers][];
        ffnNorm = new double[layers][];
        for (int l = 0; l < layers; l++) {
            for (LinearKind k : LinearKind.values()) {
                weights[l][k.ordinal()] = dense(model.linear(l, k), "layer " + l + " " + k);
            }
            attnNorm[l] = read(model.attnNorm(l));
            ffnNorm[l] = read(model.ffnNorm(l));
        }
        finalNorm = read(model.finalNorm());
        head = dense(model.head(), "head");
        float[] f = RopeFrequencies.invFreq(c);
        invFreq = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            invFreq[i] = f[i];
        }
    }

    private double[] dense(Linear lin, String what) {
        if (!(lin instanceof DenseLinear d)) {
            throw new IllegalArgumentException(model.source() + ": " + what
                    + " is not a dense layer; gradients need the unquantised model");
        }
        return read(d.weight());
    }

    private static double[] read(Tensor t) {
        MemorySegment s = t.data();
        double[] d = new double[Math.toIntExact(t.elements())];
        for (int i = 0; i < d.length; i++) {
            d[i] = switch (t.dtype()) {
                case F32 -> s.getAtIndex(F32, i);
                case F16 -> Float.float16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
                case BF16 -> Float.intBitsToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) << 16);
                default -> throw new IllegalArgumentException(t + ": unsupported dtype for gradients");
            };
        }
        return d;
    }

    /** The activations of one layer that its backward pass reads. */
    private static final class LayerState {
        double[] xIn;
        double[] rAtt;
        double[] xn;
        double[] q;
        double[] k;
        double[] v;
        double[] probs;
        double[] att;
        double[] xMid;
        double[] rFfn;
        double[] mIn;
        double[] gate;
        double[] up;
        double[] act;
    }

    /** Loss and block-linear gradients of one sequence (at least 2 tokens, within the context). */
    public LinearGradients compute(int[] tokens) {
        int t = tokens.length;
        if (t < 2 || t > c.maxSeqLen()) {
            throw new IllegalArgumentException(t + " tokens: a sequence needs 2.." + c.maxSeqLen());
        }
        int dim = c.dim();
        int layers = c.nLayers();
        double[] x = new double[t * dim];
        try (var arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment row = arena.allocate(4L * dim, 64);
            for (int i = 0; i < t; i++) {
                model.embed(tokens[i], row, 0);
                for (int j = 0; j < dim; j++) {
                    x[i * dim + j] = row.getAtIndex(ValueLayout.JAVA_FLOAT, j);
                }
            }
        }
        LayerState[] states = new LayerState[layers];
        for (int l = 0; l < layers; l++) {
            states[l] = new LayerState();
            x = layerForward(l, x, t, states[l]);
        }
        // Head and loss.
        double[] rFinal = new double[t];
        double[] xf = rmsnorm(x, finalNorm, t, rFinal);
        int vocab = c.vocabSize();
        double[] logits = products.forward(xf, head, t, vocab, dim);
        int scored = t - 1;
        double loss = 0;
        double[] dLogits = new double[t * vocab];
        for (int i = 0; i < scored; i++) {
            int base = i * vocab;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < vocab; j++) {
                max = Math.max(max, logits[base + j]);
            }
            double sum = 0;
            for (int j = 0; j < vocab; j++) {
                sum += Math.exp(logits[base + j] - max);
            }
            int target = tokens[i + 1];
            loss += Math.log(sum) + max - logits[base + target];
            for (int j = 0; j < vocab; j++) {
                dLogits[base + j] = Math.exp(logits[base + j] - max) / sum / scored;
            }
            dLogits[base + target] -= 1.0 / scored;
        }
        loss /= scored;
        double[] dx = rmsnormBackward(products.inputGradient(dLogits, head, t, vocab, dim), x, finalNorm, rFinal, t);
        double[][][] grads = new double[layers][LinearKind.values().length][];
        for (int l = layers - 1; l >= 0; l--) {
            dx = layerBackward(l, dx, t, states[l], grads[l]);
        }
        return new LinearGradients(c, loss, scored, grads);
    }

    private double[] w(int layer, LinearKind k) {
        return weights[layer][k.ordinal()];
    }

    private double[] layerForward(int l, double[] x, int t, LayerState s) {
        int dim = c.dim();
        int qDim = c.nHeads() * c.headDim();
        int kvDim = c.kvDim();
        int hidden = c.hiddenDim();
        s.xIn = x;
        s.rAtt = new double[t];
        s.xn = rmsnorm(x, attnNorm[l], t, s.rAtt);
        s.q = products.forward(s.xn, w(l, LinearKind.Q), t, qDim, dim);
        s.k = products.forward(s.xn, w(l, LinearKind.K), t, kvDim, dim);
        s.v = products.forward(s.xn, w(l, LinearKind.V), t, kvDim, dim);
        rope(s.q, t, c.nHeads(), 1);
        rope(s.k, t, c.nKvHeads(), 1);
        s.probs = new double[c.nHeads() * t * t];
        s.att = attention(s.q, s.k, s.v, s.probs, t);
        double[] o = products.forward(s.att, w(l, LinearKind.O), t, dim, qDim);
        s.xMid = add(x, o);
        s.rFfn = new double[t];
        s.mIn = rmsnorm(s.xMid, ffnNorm[l], t, s.rFfn);
        s.gate = products.forward(s.mIn, w(l, LinearKind.GATE), t, hidden, dim);
        s.up = products.forward(s.mIn, w(l, LinearKind.UP), t, hidden, dim);
        s.act = new double[t * hidden];
        for (int i = 0; i < s.act.length; i++) {
            s.act[i] = silu(s.gate[i]) * s.up[i];
        }
        return add(s.xMid, products.forward(s.act, w(l, LinearKind.DOWN), t, dim, hidden));
    }

    /** Takes dL/d(layer output), fills this layer's weight gradients, returns dL/d(layer input). */
    private double[] layerBackward(int l, double[] dOut, int t, LayerState s, double[][] g) {
        int dim = c.dim();
        int qDim = c.nHeads() * c.headDim();
        int kvDim = c.kvDim();
        int hidden = c.hiddenDim();
        // MLP: out = xMid + Wdown·(silu(gate) ⊙ up).
        g[LinearKind.DOWN.ordinal()] = products.weightGradient(dOut, s.act, t, dim, hidden);
        double[] dAct = products.inputGradient(dOut, w(l, LinearKind.DOWN), t, dim, hidden);
        double[] dGate = new double[t * hidden];
        double[] dUp = new double[t * hidden];
        for (int i = 0; i < dAct.length; i++) {
            double sig = 1 / (1 + Math.exp(-s.gate[i]));
            dUp[i] = dAct[i] * s.gate[i] * sig;
            dGate[i] = dAct[i] * s.up[i] * sig * (1 + s.gate[i] * (1 - sig));
        }
        g[LinearKind.GATE.ordinal()] = products.weightGradient(dGate, s.mIn, t, hidden, dim);
        g[LinearKind.UP.ordinal()] = products.weightGradient(dUp, s.mIn, t, hidden, dim);
        double[] dm = add(products.inputGradient(dGate, w(l, LinearKind.GATE), t, hidden, dim),
                products.inputGradient(dUp, w(l, LinearKind.UP), t, hidden, dim));
        double[] dMid = add(dOut, rmsnormBackward(dm, s.xMid, ffnNorm[l], s.rFfn, t));
        // Attention: mid = xIn + Wo·Attn(RoPE(Wq·xn), RoPE(Wk·xn), Wv·xn).
        g[LinearKind.O.ordinal()] = products.weightGradient(dMid, s.att, t, dim, qDim);
        double[] dAtt = products.inputGradient(dMid, w(l, LinearKind.O), t, dim, qDim);
        double[] dq = new double[t * qDim];
        double[] dk = new double[t * kvDim];
        double[] dv = new double[t * kvDim];
        attentionBackward(dAtt, s, dq, dk, dv, t);
        rope(dq, t, c.nHeads(), -1);
        rope(dk, t, c.nKvHeads(), -1);
        g[LinearKind.Q.ordinal()] = products.weightGradient(dq, s.xn, t, qDim, dim);
        g[LinearKind.K.ordinal()] = products.weightGradient(dk, s.xn, t, kvDim, dim);
        g[LinearKind.V.ordinal()] = products.weightGradient(dv, s.xn, t, kvDim, dim);
        double[] dxn = add(products.inputGradient(dq, w(l, LinearKind.Q), t, qDim, dim),
                add(products.inputGradient(dk, w(l, LinearKind.K), t, kvDim, dim),
                        products.inputGradient(dv, w(l, LinearKind.V), t, kvDim, dim)));
        return add(dMid, rmsnormBackward(dxn, s.xIn, attnNorm[l], s.rAtt, t));
    }

    private static double silu(double v) {
        return v / (1 + Math.exp(-v));
    }

    private static double[] add(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] + b[i];
        }
        return out;
    }

    /** y = x · r · w per row, r = 1/sqrt(mean(x²) + eps); stores r per row for the backward pass. */
    private double[] rmsnorm(double[] x, double[] w, int t, double[] r) {
        int d = c.dim();
        double[] y = new double[x.length];
        for (int i = 0; i < t; i++) {
            double ss = 0;
            for (int j = 0; j < d; j++) {
                ss += x[i * d + j] * x[i * d + j];
            }
            r[i] = 1 / Math.sqrt(ss / d + c.normEps());
            for (int j = 0; j < d; j++) {
                y[i * d + j] = x[i * d + j] * r[i] * w[j];
            }
        }
        return y;
    }

    /** dx_j = r w_j dy_j − x_j r³/d Σ_k dy_k w_k x_k (r depends on every x_k of the row). */
    private double[] rmsnormBackward(double[] dy, double[] x, double[] w, double[] r, int t) {
        int d = c.dim();
        double[] dx = new double[x.length];
        for (int i = 0; i < t; i++) {
            double dot = 0;
            for (int j = 0; j < d; j++) {
                dot += dy[i * d + j] * w[j] * x[i * d + j];
            }
            double coef = r[i] * r[i] * r[i] * dot / d;
            for (int j = 0; j < d; j++) {
                dx[i * d + j] = r[i] * w[j] * dy[i * d + j] - x[i * d + j] * coef;
            }
        }
        return dx;
    }

    /**
     * Rotates pairs in place by +angle (sign 1, the forward pass) or −angle (sign −1: the transpose
     * of the rotation, which carries a gradient back through it). Position of row i is i.
     */
    private void rope(double[] v, int t, int nHeads, int sign) {
        int hd = c.headDim();
        boolean halves = c.ropeStyle() == RopeStyle.HALVES;
        for (int i = 0; i < t; i++) {
            for (int h = 0; h < nHeads; h++) {
                int base = (i * nHeads + h) * hd;
                for (int p = 0; p < hd / 2; p++) {
                    int a = base + (halves ? p : 2 * p);
                    int b = halves ? a + hd / 2 : a + 1;
                    double angle = i * invFreq[p];
                    double cos = Math.cos(angle);
                    double sin = sign * Math.sin(angle);
                    double x0 = v[a];
                    double x1 = v[b];
                    v[a] = x0 * cos - x1 * sin;
                    v[b] = x0 * sin + x1 * cos;
                }
            }
        }
    }

    /** Causal GQA attention; probs[h][i][j] (j ≤ i) keeps the softmax for the backward pass. */
    private double[] attention(double[] q, double[] k, double[] v, double[] probs, int t) {
        int hd = c.headDim();
        int heads = c.nHeads();
        int kvDim = c.kvDim();
        int group = heads / c.nKvHeads();
        double scale = 1 / Math.sqrt(hd);
        double[] out = new double[t * heads * hd];
        for (int h = 0; h < heads; h++) {
            int kvOff = (h / group) * hd;
            for (int i = 0; i < t; i++) {
                int qOff = (i * heads + h) * hd;
                int pOff = (h * t + i) * t;
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j <= i; j++) {
                    double dot = 0;
                    for (int e = 0; e < hd; e++) {
                        dot += q[qOff + e] * k[j * kvDim + kvOff + e];
                    }
                    probs[pOff + j] = dot * scale;
                    max = Math.max(max, probs[pOff + j]);
                }
                double sum = 0;
                for (int j = 0; j <= i; j++) {
                    probs[pOff + j] = Math.exp(probs[pOff + j] - max);
                    sum += probs[pOff + j];
                }
                for (int j = 0; j <= i; j++) {
                    probs[pOff + j] /= sum;
                    for (int e = 0; e < hd; e++) {
                        out[qOff + e] += probs[pOff + j] * v[j * kvDim + kvOff + e];
                    }
                }
            }
        }
        return out;
    }

    /** Gradients of q, k, v (post-RoPE q and k) from the gradient of the attention output. */
    private void attentionBackward(double[] dOut, LayerState s, double[] dq, double[] dk, double[] dv, int t) {
        int hd = c.headDim();
        int heads = c.nHeads();
        int kvDim = c.kvDim();
        int group = heads / c.nKvHeads();
        double scale = 1 / Math.sqrt(hd);
        double[] dp = new double[t];
        for (int h = 0; h < heads; h++) {
            int kvOff = (h / group) * hd;
            for (int i = 0; i < t; i++) {
                int qOff = (i * heads + h) * hd;
                int pOff = (h * t + i) * t;
                double weighted = 0;
                for (int j = 0; j <= i; j++) {
                    double dot = 0;
                    double p = s.probs[pOff + j];
                    for (int e = 0; e < hd; e++) {
                        dot += dOut[qOff + e] * s.v[j * kvDim + kvOff + e];
                        dv[j * kvDim + kvOff + e] += p * dOut[qOff + e];
                    }
                    dp[j] = dot;
                    weighted += p * dot;
                }
                for (int j = 0; j <= i; j++) {
                    // Softmax backward, then the scaled dot product q·k.
                    double ds = s.probs[pOff + j] * (dp[j] - weighted) * scale;
                    for (int e = 0; e < hd; e++) {
                        dq[qOff + e] += ds * s.k[j * kvDim + kvOff + e];
                        dk[j * kvDim + kvOff + e] += ds * s.q[qOff + e];
                    }
                }
            }
        }
    }
}
