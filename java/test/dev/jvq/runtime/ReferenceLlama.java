package dev.jvq.runtime;

import static dev.jvq.runtime.Float64Ops.add;
import static dev.jvq.runtime.Float64Ops.matvec;
import static dev.jvq.runtime.Float64Ops.read;
import static dev.jvq.runtime.Float64Ops.rmsnorm;
import static dev.jvq.runtime.Float64Ops.rotate;

import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A float64 Llama forward pass for tests: plain double arrays, one token at a time with a KV
 * cache, written from the model description alone (no engine code, no kernels). It reads llama2.c
 * files itself, or copies the weights of a dense {@link LlamaModel} (synthetic models).
 */
final class ReferenceLlama {
    final int dim;
    final int hidden;
    final int layers;
    final int heads;
    final int kvHeads;
    final int vocab;
    final int headDim;
    final int kvDim;
    final double eps;
    final boolean halves;
    final double[] invFreq;
    final double[] emb;
    final double[][] rmsAtt;
    final double[][] rmsFfn;
    final double[][] wq;
    final double[][] wk;
    final double[][] wv;
    final double[][] wo;
    final double[][] w1;
    final double[][] w2;
    final double[][] w3;
    final double[] rmsFinal;
    final double[] head;

    private ReferenceLlama(int[] h, double theta, double eps, boolean halves, LlamaConfig.RopeScaling scaling,
            Source s, boolean shared) {
        dim = h[0];
        hidden = h[1];
        layers = h[2];
        heads = h[3];
        kvHeads = h[4];
        vocab = h[5];
        headDim = dim / heads;
        kvDim = headDim * kvHeads;
        this.eps = eps;
        this.halves = halves;
        invFreq = new double[headDim / 2];
        for (int i = 0; i < invFreq.length; i++) {
            invFreq[i] = referenceFrequency(theta, i, headDim, scaling);
        }
        emb = s.next("emb", (long) vocab * dim);
        rmsAtt = s.perLayer("rms_att", layers, dim);
        wq = s.perLayer("wq", layers, dim * dim);
        wk = s.perLayer("wk", layers, kvDim * dim);
        wv = s.perLayer("wv", layers, kvDim * dim);
        wo = s.perLayer("wo", layers, dim * dim);
        rmsFfn = s.perLayer("rms_ffn", layers, dim);
        w1 = s.perLayer("w1", layers, hidden * dim);
        w2 = s.perLayer("w2", layers, dim * hidden);
        w3 = s.perLayer("w3", layers, hidden * dim);
        rmsFinal = s.next("rms_final", dim);
        s.skip((long) h[6] * headDim);
        head = shared ? emb : s.next("wcls", (long) vocab * dim);
    }

    /** theta^(-2i/d), with the Llama-3 rule written out from its published definition. */
    static double referenceFrequency(double theta, int i, int headDim, LlamaConfig.RopeScaling s) {
        double f = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        if (s == null) {
            return f;
        }
        double wavelength = 2 * Math.PI / f;
        double lowFreqWavelength = s.originalMaxPositionEmbeddings() / s.lowFreqFactor();
        double highFreqWavelength = s.originalMaxPositionEmbeddings() / s.highFreqFactor();
        if (wavelength > lowFreqWavelength) {
            return f / s.factor();
        }
        if (wavelength < highFreqWavelength) {
            return f;
        }
        double t = (s.originalMaxPositionEmbeddings() / wavelength - s.lowFreqFactor())
                / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - t) * f / s.factor() + t * f;
    }

    /** Reads a llama2.c version-0 file directly (little-endian int32 header, float32 arrays). */
    static ReferenceLlama readLlama2c(Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        int[] h = new int[7];
        for (int i = 0; i < 7; i++) {
            h[i] = b.getInt();
        }
        boolean shared = h[5] > 0;
        h[5] = Math.abs(h[5]);
        Source s = new Source() {
            @Override
            double[] next(String name, long n) {
                double[] d = new double[(int) n];
                for (int i = 0; i < n; i++) {
                    d[i] = b.getFloat();
                }
                return d;
            }

            @Override
            void skip(long floats) {
                b.position((int) (b.position() + 4 * floats));
            }
        };
        ReferenceLlama r = new ReferenceLlama(h, 10000.0, 1e-5, false, null, s, shared);
        if (b.hasRemaining()) {
            throw new IOException(file + ": " + b.remaining() + " bytes left over");
        }
        return r;
    }

    /** Copies the weights of a model whose layers are all dense (f32, f16 or bf16). */
    static ReferenceLlama of(LlamaModel m) {
        LlamaConfig c = m.config();
        int[] h = {c.dim(), c.hiddenDim(), c.nLayers(), c.nHeads(), c.nKvHeads(), c.vocabSize(), 0};
        Source s = new Source() {
            @Override
            double[] next(String name, long n) {
                return switch (name) {
                    case "emb" -> read(m.embedding());
                    case "rms_final" -> read(m.finalNorm());
                    case "wcls" -> read(((DenseLinear) m.head()).weight());
                    default -> throw new IllegalStateException(name);
                };
            }

            @Override
            double[][] perLayer(String name, int layers, long n) {
                double[][] out = new double[layers][];
                for (int l = 0; l < layers; l++) {
                    out[l] = switch (name) {
                        case "rms_att" -> read(m.attnNorm(l));
                        case "rms_ffn" -> read(m.ffnNorm(l));
                        default -> read(((DenseLinear) m.linear(l, kind(name))).weight());
                    };
                }
                return out;
            }

            @Override
            void skip(long floats) {}
        };
        return new ReferenceLlama(h, c.ropeTheta(), c.normEps(), c.ropeStyle() == dev.jvq.backend.RopeStyle.HALVES,
                c.ropeScaling(), s, c.tiedEmbeddings());
    }

    private static LinearKind kind(String metaName) {
        for (LinearKind k : LinearKind.values()) {
            if (k.metaName.equals(metaName)) {
                return k;
            }
        }
        throw new IllegalArgumentException(metaName);
    }

    private abstract static class Source {
        abstract double[] next(String name, long n);

        double[][] perLayer(String name, int layers, long n) {
            double[][] out = new double[layers][];
            for (int l = 0; l < layers; l++) {
                out[l] = next(name, n);
            }
            return out;
        }

        abstract void skip(long floats);
    }

    /** One sequence: a KV cache and the position-by-position forward pass. */
    final class Session {
        private final double[][][] keys = new double[layers][][];
        private final double[][][] values = new double[layers][][];

        Session(int context) {
            for (int l = 0; l < layers; l++) {
                keys[l] = new double[context][];
                values[l] = new double[context][];
            }
        }

        /** Logits after feeding {@code token} at position {@code pos} (positions fed in order from 0). */
        double[] forward(int token, int pos) {
            double[] x = new double[dim];
            System.arraycopy(emb, token * dim, x, 0, dim);
            for (int l = 0; l < layers; l++) {
                double[] n = rmsnorm(x, rmsAtt[l], eps);
                double[] q = matvec(wq[l], n, dim);
                double[] k = matvec(wk[l], n, kvDim);
                double[] v = matvec(wv[l], n, kvDim);
                rotate(q, heads, headDim, halves, invFreq, pos);
                rotate(k, kvHeads, headDim, halves, invFreq, pos);
                keys[l][pos] = k;
                values[l][pos] = v;
                double[] out = new double[dim];
                int group = heads / kvHeads;
                for (int h = 0; h < heads; h++) {
                    int g = h / group;
                    double[] score = new double[pos + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int t = 0; t <= pos; t++) {
                        double dot = 0;
                        for (int i = 0; i < headDim; i++) {
                            dot += q[h * headDim + i] * keys[l][t][g * headDim + i];
                        }
                        score[t] = dot / Math.sqrt(headDim);
                        max = Math.max(max, score[t]);
                    }
                    double sum = 0;
                    for (int t = 0; t <= pos; t++) {
                        score[t] = Math.exp(score[t] - max);
                        sum += score[t];
                    }
                    for (int t = 0; t <= pos; t++) {
                        for (int i = 0; i < headDim; i++) {
                            out[h * headDim + i] += score[t] / sum * values[l][t][g * headDim + i];
                        }
                    }
                }
                add(x, matvec(wo[l], out, dim));
                double[] m = rmsnorm(x, rmsFfn[l], eps);
                double[] gate = matvec(w1[l], m, hidden);
                double[] up = matvec(w3[l], m, hidden);
                for (int i = 0; i < hidden; i++) {
                    gate[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
                }
                add(x, matvec(w2[l], gate, dim));
            }
            return matvec(head, rmsnorm(x, rmsFinal, eps), vocab);
        }
    }

    static int argmax(double[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }

    /** Greedy continuation of {@code prompt} by {@code steps} tokens. */
    int[] greedy(int[] prompt, int steps) {
        Session s = new Session(prompt.length + steps);
        double[] logits = null;
        for (int i = 0; i < prompt.length; i++) {
            logits = s.forward(prompt[i], i);
        }
        int[] out = new int[steps];
        for (int i = 0; i < steps; i++) {
            out[i] = argmax(logits);
            if (i + 1 < steps) {
                logits = s.forward(out[i], prompt.length + i);
            }
        }
        return out;
    }

    /** Σ −log p(w[t+1] | w[0..t]) over the window, float64 throughout. */
    double windowNll(int[] w) {
        Session s = new Session(w.length);
        double nll = 0;
        for (int t = 0; t + 1 < w.length; t++) {
            double[] logits = s.forward(w[t], t);
            double max = Double.NEGATIVE_INFINITY;
            for (double v : logits) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (double v : logits) {
                sum += Math.exp(v - max);
            }
            nll += Math.log(sum) + max - logits[w[t + 1]];
        }
        return nll;
    }
}
