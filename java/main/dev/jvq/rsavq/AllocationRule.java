package dev.jvq.rsavq;

import dev.jvq.JvqException;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How WCSG turns channel sensitivities I_c (≥ 1) into bits per channel for a target of B bits per weight. */
public enum AllocationRule {
    /** The paper's proportional rule: b_c = round(B·n·log2 I_c / Σ_c' log2 I_c'); all B if the sum is 0. */
    PAPER,
    /** Reverse water-filling: b_c = B + ½(log2 I_c − mean_c' log2 I_c'), not rounded per channel. */
    WATERFILL;

    /** The option spelling: {@code paper} or {@code waterfill}. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static AllocationRule parse(String s) {
        for (AllocationRule r : values()) {
            if (r.id().equalsIgnoreCase(s == null ? "" : s.strip())) {
                return r;
            }
        }
        throw new JvqException("--allocation " + s + ": unknown rule; choose one of "
                + Arrays.stream(values()).map(AllocationRule::id).collect(Collectors.joining(", ")));
    }

    /** Real-valued bits per channel (the group step rounds their group means). */
    double[] channelBits(double[] sensitivity, int targetBits) {
        int n = sensitivity.length;
        double[] lg = new double[n];
        double sum = 0;
        for (int c = 0; c < n; c++) {
            lg[c] = Math.log(sensitivity[c]) / Math.log(2);
            sum += lg[c];
        }
        double[] b = new double[n];
        for (int c = 0; c < n; c++) {
            b[c] = switch (this) {
                case PAPER -> sum == 0 ? targetBits : Math.rint((double) targetBits * n * lg[c] / sum);
                case WATERFILL -> targetBits + 0.5 * (lg[c] - sum / n);
            };
        }
        return b;
    }
}
