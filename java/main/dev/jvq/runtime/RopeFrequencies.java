package dev.jvq.runtime;

import dev.jvq.model.LlamaConfig;

/**
 * The per-pair rotary frequencies {@code inv_freq[i] = theta^(-2i/headDim)} the RoPE kernel takes,
 * with Llama-3 "llama3" scaling applied when the config asks for it (the kernel never scales).
 */
public final class RopeFrequencies {
    private RopeFrequencies() {}

    public static float[] invFreq(LlamaConfig c) {
        int headDim = c.headDim();
        float[] f = new float[headDim / 2];
        LlamaConfig.RopeScaling s = c.ropeScaling();
        for (int i = 0; i < f.length; i++) {
            double freq = Math.pow(c.ropeTheta(), -2.0 * i / headDim);
            f[i] = (float) (s == null ? freq : llama3(freq, s));
        }
        return f;
    }

    /**
     * Llama-3 scaling: long wavelengths (beyond original_ctx / low_freq_factor) are slowed by
     * {@code factor}, short ones (below original_ctx / high_freq_factor) kept, and the band in between
     * interpolated smoothly.
     */
    static double llama3(double freq, LlamaConfig.RopeScaling s) {
        double wavelen = 2 * Math.PI / freq;
        double old = s.originalMaxPositionEmbeddings();
        double lowWavelen = old / s.lowFreqFactor();
        double highWavelen = old / s.highFreqFactor();
        if (wavelen < highWavelen) {
            return freq;
        }
        if (wavelen > lowWavelen) {
            return freq / s.factor();
        }
        double smooth = (old / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
        return (1 - smooth) * freq / s.factor() + smooth * freq;
    }
}
