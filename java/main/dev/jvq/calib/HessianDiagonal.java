package dev.jvq.calib;

import dev.jvq.backend.Backend;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The Hessian diagonal h_j of one linear layer's input (ALGORITHMS.md section 1), accumulated with
 * the mission kernel {@link Backend#hessianDiagAccumulate} in float64.
 *
 * <p>Two estimators: the default true mean h_j = (1/T) Σ_t x_tj² over every calibration token, and
 * the published reference code's exponential moving average (paper protocol, {@code --hessian-ema}):
 * per calibration sequence, h ← 0.95·h + 0.05·mean_seq(x²), the first sequence initialising h.
 * In EMA mode call {@link #endSequence()} after each calibration sequence.
 */
public final class HessianDiagonal {
    /** Weight of the running value in the paper's EMA. */
    public static final double EMA_DECAY = 0.95;

    private final int d;
    private final boolean ema;
    private final MemorySegment sums; // f64[d]: running Σ x² (mean mode) or this sequence's Σ x² (EMA mode)
    private final double[] emaValue;
    private long tokens;              // tokens in `sums`
    private long totalTokens;
    private int sequences;

    public HessianDiagonal(int d, boolean ema, Arena arena) {
        if (d <= 0) {
            throw new IllegalArgumentException("input width must be positive: " + d);
        }
        this.d = d;
        this.ema = ema;
        this.sums = arena.allocate((long) d * Double.BYTES, 64);
        this.emaValue = ema ? new double[d] : null;
    }

    public int width() {
        return d;
    }

    public boolean isEma() {
        return ema;
    }

    /** Adds nTokens activation rows x[nTokens x d] (f32) entering the layer. */
    public void accumulate(Backend backend, MemorySegment x, long nTokens) {
        if (x.byteSize() < nTokens * d * Float.BYTES) {
            throw new IllegalArgumentException("activation block smaller than " + nTokens + " x " + d);
        }
        backend.hessianDiagAccumulate(sums, x, nTokens, d);
        tokens += nTokens;
        totalTokens += nTokens;
    }

    /** Closes a calibration sequence: folds its mean into the EMA (no-op in mean mode). */
    public void endSequence() {
        sequences++;
        if (!ema || tokens == 0) {
            return;
        }
        double inv = 1.0 / tokens;
        for (int j = 0; j < d; j++) {
            double m = sums.getAtIndex(ValueLayout.JAVA_DOUBLE, j) * inv;
            emaValue[j] = sequences == 1 ? m : EMA_DECAY * emaValue[j] + (1 - EMA_DECAY) * m;
        }
        sums.fill((byte) 0);
        tokens = 0;
    }

    public long tokensSeen() {
        return totalTokens;
    }

    /** The estimate h (length d). Throws if nothing was accumulated. */
    public double[] values() {
        if (totalTokens == 0) {
            throw new IllegalStateException("no calibration tokens reached this layer");
        }
        if (ema) {
            if (tokens != 0) {
                throw new IllegalStateException("EMA Hessian: endSequence() not called after the last sequence");
            }
            return emaValue.clone();
        }
        double[] h = new double[d];
        double inv = 1.0 / totalTokens;
        for (int j = 0; j < d; j++) {
            h[j] = sums.getAtIndex(ValueLayout.JAVA_DOUBLE, j) * inv;
        }
        return h;
    }
}
