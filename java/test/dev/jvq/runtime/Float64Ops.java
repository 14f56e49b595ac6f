package dev.jvq.runtime;

import dev.jvq.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The float64 building blocks of the test references of the Llama forward pass ({@link ReferenceLlama})
 * and of the loss the gradient checks differentiate (dev.jvq.train.ReferenceLoss), written from the
 * model description, not from the engine's code.
 */
public final class Float64Ops {
    private Float64Ops() {}

    /** A f32, f16 or bf16 tensor as doubles. */
    public static double[] read(Tensor t) {
        MemorySegment s = t.data();
        double[] d = new double[(int) t.elements()];
        for (int i = 0; i < d.length; i++) {
            d[i] = switch (t.dtype()) {
                case F32 -> s.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
                case F16 -> Float.float16ToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i));
                case BF16 -> Float.intBitsToFloat(s.getAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, i) << 16);
                default -> throw new IllegalArgumentException(t.toString());
            };
        }
        return d;
    }

    /** x / sqrt(mean(x²) + eps) · w. */
    public static double[] rmsnorm(double[] x, double[] w, double eps) {
        double ss = 0;
        for (double v : x) {
            ss += v * v;
        }
        double inv = 1 / Math.sqrt(ss / x.length + eps);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * inv * w[i];
        }
        return out;
    }

    /** W x for W [rows x x.length] row-major. */
    public static double[] matvec(double[] w, double[] x, int rows) {
        double[] y = new double[rows];
        int cols = x.length;
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int c = 0; c < cols; c++) {
                s += w[r * cols + c] * x[c];
            }
            y[r] = s;
        }
        return y;
    }

    /** x += y. */
    public static void add(double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    /**
     * RoPE in place on nHeads heads of headDim values at position pos: pairs (i, i + headDim/2)
     * when {@code halves}, else (2i, 2i+1), rotated by pos · invFreq[i].
     */
    public static void rotate(double[] v, int nHeads, int headDim, boolean halves, double[] invFreq, int pos) {
        for (int h = 0; h < nHeads; h++) {
            for (int i = 0; i < headDim / 2; i++) {
                int a = h * headDim + (halves ? i : 2 * i);
                int b = halves ? a + headDim / 2 : a + 1;
                double angle = pos * invFreq[i];
                double x0 = v[a];
                double x1 = v[b];
                v[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
                v[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
            }
        }
    }
}
