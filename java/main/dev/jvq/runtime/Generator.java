package dev.jvq.runtime;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.function.IntConsumer;

/**
 * Autoregressive generation: the prompt goes through the model in blocks (GEMM prefill), then one
 * token at a time (GEMV decode with the KV cache), each next token chosen by a {@link Sampler}.
 */
public final class Generator {
    private Generator() {}

    /**
     * @param prompt the prompt tokens (BOS included when the model expects it)
     * @param generated the new tokens, stop token excluded
     * @param stoppedAt the stop token that ended generation, or -1 (limit reached)
     * @param prefillSeconds time of the prompt's forward passes (and the first sampling)
     * @param decodeSteps single-token forward passes run after the prefill
     * @param decodeSeconds time of those passes and their sampling
     */
    public record Result(int[] prompt, int[] generated, int stoppedAt, double prefillSeconds, int decodeSteps,
            double decodeSeconds) {
        public double prefillTokensPerSecond() {
            return prompt.length / prefillSeconds;
        }

        public double decodeTokensPerSecond() {
            return decodeSteps == 0 ? Double.NaN : decodeSteps / decodeSeconds;
        }
    }

    /**
     * Generates up to {@code maxNew} tokens after {@code prompt} (fewer when the runner's context
     * ends first or a stop token comes); {@code onToken} sees every new token as soon as it is chosen.
     */
    public static Result generate(Transformer t, int[] prompt, int maxNew, Sampler sampler, int[] stopIds,
            IntConsumer onToken) {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("empty prompt");
        }
        if (prompt.length >= t.context()) {
            throw new IllegalArgumentException("prompt of " + prompt.length + " tokens leaves no room in a context of "
                    + t.context());
        }
        int vocab = t.model().config().vocabSize();
        long t0 = System.nanoTime();
        MemorySegment logits = null;
        for (int from = 0; from < prompt.length; from += t.maxBatch()) {
            int n = Math.min(t.maxBatch(), prompt.length - from);
            boolean last = from + n == prompt.length;
            logits = t.forward(prompt, from, n, from, last ? Transformer.Logits.LAST : Transformer.Logits.NONE);
        }
        int next = sampler.sample(logits, vocab);
        long t1 = System.nanoTime();
        int limit = Math.min(maxNew, t.context() - prompt.length);
        int[] out = new int[Math.max(limit, 0)];
        int count = 0;
        int steps = 0;
        int stopped = -1;
        int pos = prompt.length;
        while (count < limit) {
            if (contains(stopIds, next)) {
                stopped = next;
                break;
            }
            out[count++] = next;
            onToken.accept(next);
            if (count == limit) {
                break;
            }
            logits = t.decode(next, pos++);
            steps++;
            next = sampler.sample(logits, vocab);
        }
        long t2 = System.nanoTime();
        return new Result(prompt.clone(), Arrays.copyOf(out, count), stopped, (t1 - t0) / 1e9, steps, (t2 - t1) / 1e9);
    }

    private static boolean contains(int[] a, int v) {
        for (int x : a) {
            if (x == v) {
                return true;
            }
        }
        return false;
    }
}
