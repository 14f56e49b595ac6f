package dev.jvq.runtime;

import dev.jvq.backend.Backend;
import dev.jvq.model.LinearKind;
import dev.jvq.model.LlamaConfig;
import dev.jvq.model.LlamaModel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The Llama forward pass on a {@link Backend}: a block of tokens at consecutive positions goes
 * through every layer at once (GEMM; "prefill"), a single token through GEMV ("decode"). Keys and
 * values of every position seen so far stay in an f32 KV cache, so decoding position p reads the
 * cache rows 0..p; a new block at position p overwrites the rows from p on.
 *
 * <p>Per layer: x += Wo·Attn(RoPE(Wq·n), RoPE(Wk·n), Wv·n) with n = RMSNorm(x)·attn_norm, then
 * x += Wdown·(silu(Wgate·m) ⊙ Wup·m) with m = RMSNorm(x)·ffn_norm; finally logits = head·RMSNorm(x).
 *
 * <p>The runner owns its scratch and KV cache (a shared arena, so an observer or the perplexity
 * loss may read buffers from other threads); one caller at a time, like the backend.
 */
public final class Transformer implements AutoCloseable {
    /** Which logits a forward pass computes. */
    public enum Logits {
        /** None (calibration passes that only observe activations). */
        NONE,
        /** Only the last token's (generation). */
        LAST,
        /** Every token's (perplexity). */
        ALL
    }

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;

    private final LlamaModel model;
    private final Backend backend;
    private final LlamaConfig c;
    private final int context;
    private final int maxBatch;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment x;
    private final MemorySegment xb;
    private final MemorySegment xb2;
    private final MemorySegment q;
    private final MemorySegment att;
    private final MemorySegment hb;
    private final MemorySegment hb2;
    /** [vocab] for LAST; the [maxBatch x vocab] buffer for ALL is allocated on first use. */
    private final MemorySegment lastLogits;
    private MemorySegment allLogits;
    private final MemorySegment positions;
    private final MemorySegment invFreq;
    private final MemorySegment[] keys;
    private final MemorySegment[] values;
    private LinearInputObserver observer;

    /**
     * @param context the longest sequence this runner will hold (KV cache rows), at most the
     *     model's maxSeqLen
     * @param maxBatch the most tokens one {@link #forward} call takes
     */
    public Transformer(LlamaModel model, Backend backend, int context, int maxBatch) {
        this.model = model;
        this.backend = backend;
        this.c = model.config();
        if (context < 1 || context > c.maxSeqLen()) {
            throw new IllegalArgumentException("context " + context + " outside 1.." + c.maxSeqLen());
        }
        if (maxBatch < 1 || maxBatch > context) {
            throw new IllegalArgumentException("batch " + maxBatch + " outside 1.." + context);
        }
        this.context = context;
        this.maxBatch = maxBatch;
        long dim = c.dim();
        long qDim = (long) c.nHeads() * c.headDim();
        x = floats(maxBatch * dim);
        xb = floats(maxBatch * Math.max(dim, qDim));
        xb2 = floats(maxBatch * dim);
        q = floats(maxBatch * qDim);
        att = floats(maxBatch * qDim);
        hb = floats((long) maxBatch * c.hiddenDim());
        hb2 = floats((long) maxBatch * c.hiddenDim());
        lastLogits = floats(c.vocabSize());
        positions = arena.allocate(4L * maxBatch, 64);
        float[] freq = RopeFrequencies.invFreq(c);
        invFreq = floats(freq.length);
        MemorySegment.copy(freq, 0, invFreq, F32, 0, freq.length);
        keys = new MemorySegment[c.nLayers()];
        values = new MemorySegment[c.nLayers()];
        for (int l = 0; l < c.nLayers(); l++) {
            keys[l] = floats((long) context * c.kvDim());
            values[l] = floats((long) context * c.kvDim());
        }
    }

    private MemorySegment floats(long n) {
        return arena.allocate(4 * n, 64);
    }

    public LlamaModel model() {
        return model;
    }

    public Backend backend() {
        return backend;
    }

    public int context() {
        return context;
    }

    public int maxBatch() {
        return maxBatch;
    }

    /** Bytes of the KV cache this runner allocated (f32 keys and values, every layer, the whole context). */
    public long kvCacheBytes() {
        long bytes = 0;
        for (int l = 0; l < keys.length; l++) {
            bytes += keys[l].byteSize() + values[l].byteSize();
        }
        return bytes;
    }

    /**
     * Bytes of the activation buffers this runner allocated so far: the per-token scratch for
     * maxBatch tokens, the logits (the [maxBatch x vocab] buffer once an ALL pass ran), positions and
     * RoPE frequencies. Quantised layers' transient row-tile scratch in prefill is not included.
     */
    public long activationBytes() {
        long bytes = 0;
        for (MemorySegment s : new MemorySegment[] {x, xb, xb2, q, att, hb, hb2, lastLogits, positions, invFreq}) {
            bytes += s.byteSize();
        }
        return bytes + (allLogits == null ? 0 : allLogits.byteSize());
    }

    /** Sets (or clears, with null) the observer of linear-layer inputs. */
    public void setObserver(LinearInputObserver observer) {
        this.observer = observer;
    }

    /** Decodes one token at position {@code pos} (GEMV path); returns its f32 logits [vocab]. */
    public MemorySegment decode(int token, int pos) {
        return forward(new int[] {token}, 0, 1, pos, Logits.LAST);
    }

    /**
     * Runs tokens[from, from+n) at positions pos0.. (n ≤ maxBatch, pos0 + n ≤ context). Returns the
     * f32 logits: [n x vocab] for ALL, [vocab] for LAST, an empty segment for NONE. The segment is a
     * view of the runner's buffer, overwritten by the next call.
     */
    public MemorySegment forward(int[] tokens, int from, int n, int pos0, Logits mode) {
        if (n < 1 || n > maxBatch) {
            throw new IllegalArgumentException(n + " tokens in one forward call; this runner takes 1.." + maxBatch);
        }
        if (pos0 < 0 || pos0 + n > context) {
            throw new IllegalArgumentException("positions " + pos0 + ".." + (pos0 + n - 1) + " beyond the context of "
                    + context);
        }
        int dim = c.dim();
        int kvDim = c.kvDim();
        int qDim = c.nHeads() * c.headDim();
        int hidden = c.hiddenDim();
        float eps = (float) c.normEps();
        float scale = (float) (1.0 / Math.sqrt(c.headDim()));
        for (int i = 0; i < n; i++) {
            model.embed(tokens[from + i], x, 4L * i * dim);
            positions.setAtIndex(ValueLayout.JAVA_INT, i, pos0 + i);
        }
        MemorySegment xs = rows(x, n, dim);
        MemorySegment xbs = rows(xb, n, dim);
        MemorySegment xb2s = rows(xb2, n, dim);
        MemorySegment qs = rows(q, n, qDim);
        MemorySegment atts = rows(att, n, qDim);
        MemorySegment hbs = rows(hb, n, hidden);
        MemorySegment hb2s = rows(hb2, n, hidden);
        MemorySegment pos = positions.asSlice(0, 4L * n);
        for (int l = 0; l < c.nLayers(); l++) {
            // Attention block.
            backend.rmsnorm(xbs, xs, model.attnNorm(l).data(), n, dim, eps);
            observe(l, LinearKind.Q, xbs, n);
            MemorySegment k = keys[l].asSlice(4L * pos0 * kvDim, 4L * n * kvDim);
            MemorySegment v = values[l].asSlice(4L * pos0 * kvDim, 4L * n * kvDim);
            multiply(model.linear(l, LinearKind.Q), xbs, qs, n);
            multiply(model.linear(l, LinearKind.K), xbs, k, n);
            multiply(model.linear(l, LinearKind.V), xbs, v, n);
            backend.rope(qs, n, c.nHeads(), c.headDim(), pos, invFreq, c.ropeStyle());
            backend.rope(k, n, c.nKvHeads(), c.headDim(), pos, invFreq, c.ropeStyle());
            MemorySegment kAll = keys[l].asSlice(0, 4L * (pos0 + n) * kvDim);
            MemorySegment vAll = values[l].asSlice(0, 4L * (pos0 + n) * kvDim);
            backend.attention(atts, qs, kAll, vAll, n, pos0, c.nHeads(), c.nKvHeads(), c.headDim(), scale);
            observe(l, LinearKind.O, atts, n);
            multiply(model.linear(l, LinearKind.O), atts, xb2s, n);
            backend.add(xs, xb2s, (long) n * dim);
            // MLP block.
            backend.rmsnorm(xbs, xs, model.ffnNorm(l).data(), n, dim, eps);
            observe(l, LinearKind.GATE, xbs, n);
            multiply(model.linear(l, LinearKind.GATE), xbs, hbs, n);
            multiply(model.linear(l, LinearKind.UP), xbs, hb2s, n);
            backend.siluMul(hbs, hb2s, (long) n * hidden);
            observe(l, LinearKind.DOWN, hbs, n);
            multiply(model.linear(l, LinearKind.DOWN), hbs, xb2s, n);
            backend.add(xs, xb2s, (long) n * dim);
        }
        return switch (mode) {
            case NONE -> lastLogits.asSlice(0, 0);
            case ALL -> {
                if (allLogits == null) {
                    allLogits = floats((long) maxBatch * c.vocabSize());
                }
                backend.rmsnorm(xbs, xs, model.finalNorm().data(), n, dim, eps);
                MemorySegment out = rows(allLogits, n, c.vocabSize());
                multiply(model.head(), xbs, out, n);
                yield out;
            }
            case LAST -> {
                MemorySegment last = x.asSlice(4L * (n - 1) * dim, 4L * dim);
                MemorySegment normed = xb.asSlice(0, 4L * dim);
                backend.rmsnorm(normed, last, model.finalNorm().data(), 1, dim, eps);
                MemorySegment out = lastLogits;
                model.head().gemv(backend, normed, out);
                yield out;
            }
        };
    }

    /** GEMV for a single token (the decode path), GEMM for a block. */
    private void multiply(Linear w, MemorySegment in, MemorySegment out, int n) {
        if (n == 1) {
            w.gemv(backend, in, out);
        } else {
            w.gemm(backend, in, out, n);
        }
    }

    private void observe(int layer, LinearKind group, MemorySegment in, int n) {
        if (observer != null) {
            observer.observe(layer, group, in, n);
        }
    }

    private static MemorySegment rows(MemorySegment buf, long n, long width) {
        return buf.asSlice(0, 4 * n * width);
    }

    @Override
    public void close() {
        arena.close();
    }
}
