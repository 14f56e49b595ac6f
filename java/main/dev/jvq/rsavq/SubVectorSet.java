package dev.jvq.rsavq;

import java.util.Arrays;

/**
 * The sub-vectors one PQ codebook table is trained on and codes: n vectors of {@code length} values
 * (weights already divided by their row scales), each coordinate with a Fisher weight (0 marks a
 * coordinate past the last row of a column, so short tail sub-vectors need no special case) and,
 * for EDSG, a target shifted along the natural gradient: u − λ·ñ.
 */
final class SubVectorSet {
    final int length;
    private float[] values;
    private float[] weights;
    private float[] targets;
    private byte[] valid;
    private int n;

    SubVectorSet(int length, int capacity) {
        this.length = length;
        values = new float[Math.max(1, capacity) * length];
        weights = new float[values.length];
        targets = new float[values.length];
        valid = new byte[Math.max(1, capacity)];
    }

    /** Appends one sub-vector; returns its index. {@code valid} leading coordinates are real rows. */
    int add(float[] u, float[] w, float[] target, int validCount) {
        if (n == valid.length) {
            int cap = valid.length * 2;
            values = Arrays.copyOf(values, cap * length);
            weights = Arrays.copyOf(weights, cap * length);
            targets = Arrays.copyOf(targets, cap * length);
            valid = Arrays.copyOf(valid, cap);
        }
        int o = n * length;
        for (int d = 0; d < length; d++) {
            boolean real = d < validCount;
            values[o + d] = real ? u[d] : 0f;
            weights[o + d] = real ? w[d] : 0f;
            targets[o + d] = real ? target[d] : 0f;
        }
        valid[n] = (byte) validCount;
        return n++;
    }

    int size() {
        return n;
    }

    float value(int i, int d) {
        return values[i * length + d];
    }

    float weight(int i, int d) {
        return weights[i * length + d];
    }

    float target(int i, int d) {
        return targets[i * length + d];
    }

    /** Leading coordinates that are real rows (fewer than {@link #length} for a column's tail). */
    int valid(int i) {
        return valid[i];
    }

    float[] rawValues() {
        return values;
    }
}
