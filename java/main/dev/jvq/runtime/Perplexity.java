package dev.jvq.runtime;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Perplexity over a tokenised text (ALGORITHMS.md section 6).
 *
 * <p>Paper protocol: non-overlapping windows of seqLen tokens starting at token 0; a window shorter
 * than {@link #MIN_WINDOW} tokens (the last one, typically) is skipped; the first token of every
 * window is context only, so a window of L tokens scores L−1 next-token predictions; the window
 * loss is their mean NLL; perplexity = exp(mean of window losses). The token-weighted perplexity
 * exp(Σ NLL / Σ predictions) is reported beside it.
 *
 * <p>BOS variant: every window is BOS followed by the next seqLen−1 text tokens, and every text
 * token is scored (the BOS is the context of the first). Windows are counted and skipped the same way
 * (length including the BOS).
 */
public final class Perplexity {
    /** Windows shorter than this are skipped (or than seqLen itself, when seqLen is smaller). */
    public static final int MIN_WINDOW = 100;

    private Perplexity() {}

    /**
     * @param seqLen window length in tokens (including the BOS in the BOS variant)
     * @param bos the BOS variant
     * @param skipWindows windows to leave out at the start (after short windows are dropped)
     * @param maxWindows the most windows to evaluate (0 = all)
     */
    public record Options(int seqLen, boolean bos, int skipWindows, int maxWindows) {
        public Options {
            if (seqLen < 2) {
                throw new IllegalArgumentException("seq-len " + seqLen + ": a window needs at least 2 tokens");
            }
            if (skipWindows < 0 || maxWindows < 0) {
                throw new IllegalArgumentException("negative window counts");
            }
        }
    }

    /**
     * @param ppl exp(mean window loss)
     * @param pplTokenWeighted exp(total NLL / scored tokens)
     * @param tokens tokens run through the model (window lengths summed)
     * @param scored predictions scored
     * @param seconds time spent in the forward passes and losses
     * @param windowLosses mean NLL of each window, in order
     */
    public record Result(double ppl, double pplTokenWeighted, int windows, long tokens, long scored, double seconds,
            double[] windowLosses) {
        public double tokensPerSecond() {
            return tokens / seconds;
        }
    }

    /** Called after every window. */
    @FunctionalInterface
    public interface Progress {
        void windowDone(int done, int total, long tokens, double seconds);
    }

    /** The windows the protocol evaluates, in order, as token arrays (BOS included in the BOS variant). */
    public static List<int[]> windows(int[] tokens, Options o, int bosId) {
        if (o.bos() && bosId < 0) {
            throw new IllegalArgumentException("the BOS variant needs a tokenizer with a BOS token");
        }
        int minWindow = Math.min(MIN_WINDOW, o.seqLen());
        int step = o.bos() ? o.seqLen() - 1 : o.seqLen();
        List<int[]> all = new ArrayList<>();
        for (int start = 0; start < tokens.length; start += step) {
            int len = Math.min(step, tokens.length - start);
            int[] w;
            if (o.bos()) {
                w = new int[len + 1];
                w[0] = bosId;
                System.arraycopy(tokens, start, w, 1, len);
            } else {
                w = new int[len];
                System.arraycopy(tokens, start, w, 0, len);
            }
            if (w.length >= minWindow) {
                all.add(w);
            }
        }
        int from = Math.min(o.skipWindows(), all.size());
        int to = o.maxWindows() == 0 ? all.size() : Math.min(all.size(), from + o.maxWindows());
        return all.subList(from, to);
    }

    /** Evaluates the windows of {@code tokens} on a runner whose context and batch hold a whole window. */
    public static Result evaluate(Transformer t, int[] tokens, Options o, int bosId, Progress progress) {
        if (t.maxBatch() < o.seqLen()) {
            throw new IllegalArgumentException("runner batch " + t.maxBatch() + " < seq-len " + o.seqLen());
        }
        List<int[]> windows = windows(tokens, o, bosId);
        if (windows.isEmpty()) {
            throw new IllegalArgumentException(tokens.length + " tokens give no window to evaluate");
        }
        double[] losses = new double[windows.size()];
        double totalNll = 0;
        long scored = 0;
        long fed = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < windows.size(); i++) {
            int[] w = windows.get(i);
            MemorySegment logits = t.forward(w, 0, w.length, 0, Transformer.Logits.ALL);
            double nll = windowNll(logits, w, t.model().config().vocabSize());
            losses[i] = nll / (w.length - 1);
            totalNll += nll;
            scored += w.length - 1;
            fed += w.length;
            if (progress != null) {
                progress.windowDone(i + 1, windows.size(), fed, (System.nanoTime() - t0) / 1e9);
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double meanLoss = 0;
        for (double l : losses) {
            meanLoss += l;
        }
        meanLoss /= losses.length;
        return new Result(Math.exp(meanLoss), Math.exp(totalNll / scored), windows.size(), fed, scored, seconds, losses);
    }

    /** Σ over positions p < L−1 of −log softmax(logits[p])[w[p+1]], in float64. */
    static double windowNll(MemorySegment logits, int[] w, int vocab) {
        double[] nll = new double[w.length - 1];
        // Rows are independent; the loss over a large vocabulary costs as much as a small model's
        // forward pass, so it runs on all cores. The sum below stays in a fixed order.
        IntStream.range(0, nll.length).parallel().forEach(p -> nll[p] = rowNll(logits, (long) p * vocab, vocab, w[p + 1]));
        double sum = 0;
        for (double v : nll) {
            sum += v;
        }
        return sum;
    }

    private static double rowNll(MemorySegment logits, long base, int vocab, int target) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < vocab; j++) {
            max = Math.max(max, logits.getAtIndex(ValueLayout.JAVA_FLOAT, base + j));
        }
        double sum = 0;
        for (int j = 0; j < vocab; j++) {
            sum += Math.exp(logits.getAtIndex(ValueLayout.JAVA_FLOAT, base + j) - max);
        }
        return Math.log(sum) + max - logits.getAtIndex(ValueLayout.JAVA_FLOAT, base + target);
    }
}
