package dev.jvq.rsavq;

import dev.jvq.quant.WeightRows;
import dev.jvq.tensor.Tensor;
import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * What the WCSG sensitivities of one matrix look like: how far its mean gradient stands above the
 * noise of a mean over S sequences, the spread of the paper's log2 I_c (what the proportional rule
 * turns into bits), the spread of the diagonal-Fisher sensitivity, and how the two rank the channels.
 *
 * @param signalToNoise S·‖Ḡ‖²_F / tr(F_I): about 1 when Ḡ is only the sampling noise of a mean over S
 *     sequences (tr F_I = mean ‖G_s‖²_F), far above 1 when the gradients share a direction
 * @param paperLog2 log2 I_c of the paper's sensitivity (min, median, max over channels)
 * @param fisherLog2 log2 I_c of {@link Sensitivity#FISHER} (min is 0 by construction; median, max)
 * @param spearman rank correlation of the two sensitivities over channels
 */
public record SensitivityReport(double signalToNoise, double[] paperLog2, double[] fisherLog2, double spearman) {

    /** The report for W (m x n) with its Fisher statistics over {@code sequences} sequences. */
    public static SensitivityReport of(Tensor weight, double[] meanGrad, double[] fOut, double[] fIn, int sequences) {
        WeightRows rows = new WeightRows(weight);
        int m = rows.rows();
        int n = rows.cols();
        float[] w = new float[m * n];
        float[] row = new float[n];
        for (int r = 0; r < m; r++) {
            rows.read(r, row);
            System.arraycopy(row, 0, w, r * n, n);
        }
        double g2 = 0;
        for (double g : meanGrad) {
            g2 += g * g;
        }
        double trace = 0;
        for (int c = 0; c < n; c++) {
            trace += fIn[c * n + c];
        }
        double[] paper = Sensitivity.PAPER.of(w, meanGrad, fOut, fIn, m, n);
        double[] fisher = Sensitivity.FISHER.of(w, meanGrad, fOut, fIn, m, n);
        return new SensitivityReport(sequences * g2 / trace, spread(paper), spread(fisher), spearman(paper, fisher));
    }

    private static double[] spread(double[] s) {
        double[] l = Arrays.stream(s).map(v -> Math.log(v) / Math.log(2)).sorted().toArray();
        return new double[] {l[0], l[l.length / 2], l[l.length - 1]};
    }

    /** Spearman's rank correlation (ties broken by index; sensitivities are continuous). */
    static double spearman(double[] x, double[] y) {
        double[] a = ranks(x);
        double[] b = ranks(y);
        double mean = (x.length - 1) / 2.0;
        double sab = 0;
        double saa = 0;
        double sbb = 0;
        for (int i = 0; i < a.length; i++) {
            sab += (a[i] - mean) * (b[i] - mean);
            saa += (a[i] - mean) * (a[i] - mean);
            sbb += (b[i] - mean) * (b[i] - mean);
        }
        return saa == 0 || sbb == 0 ? 0 : sab / Math.sqrt(saa * sbb);
    }

    private static double[] ranks(double[] v) {
        Integer[] order = IntStream.range(0, v.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> v[i]).thenComparingInt(i -> i));
        double[] r = new double[v.length];
        for (int k = 0; k < order.length; k++) {
            r[order[k]] = k;
        }
        return r;
    }
}
