package dev.jvq.quant;

import dev.jvq.tensor.DType;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

/** Random test matrices (never zeros) as off-heap tensors. */
public final class TestData {
    private TestData() {}

    /** Gaussian weights with a few large outliers, like real linear layers. */
    public static float[] weights(int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            double g = gaussian(r) * 0.05;
            if (r.nextInt(100) == 0) {
                g *= 8;
            }
            w[i] = (float) g;
        }
        return w;
    }

    public static double gaussian(SplittableRandom r) {
        double u = r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    public static Tensor f32(String name, float[] data, int rows, int cols, Arena arena) {
        MemorySegment seg = arena.allocate((long) data.length * 4, 64);
        MemorySegment.copy(data, 0, seg, LittleEndian.F32, 0, data.length);
        return new Tensor(name, DType.F32, new long[] {rows, cols}, seg);
    }

    public static Tensor f16(String name, float[] data, int rows, int cols, Arena arena) {
        MemorySegment seg = arena.allocate((long) data.length * 2, 64);
        for (int i = 0; i < data.length; i++) {
            seg.setAtIndex(LittleEndian.I16, i, Float.floatToFloat16(data[i]));
        }
        return new Tensor(name, DType.F16, new long[] {rows, cols}, seg);
    }

    public static float[] hessian(int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] h = new float[cols];
        for (int j = 0; j < cols; j++) {
            h[j] = (float) (0.01 + r.nextDouble() * r.nextDouble() * 4);
        }
        return h;
    }

    public static float half(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }
}
