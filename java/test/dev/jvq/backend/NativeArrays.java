package dev.jvq.backend;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

/** Test helpers: off-heap copies of Java arrays, random data, float64 comparisons. */
final class NativeArrays {
    private NativeArrays() {}

    static MemorySegment f32(Arena arena, float[] a) {
        MemorySegment s = arena.allocate(Math.max(4L * a.length, 4), 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_FLOAT, 0, a.length);
        return s.asSlice(0, 4L * a.length);
    }

    static MemorySegment f64(Arena arena, double[] a) {
        MemorySegment s = arena.allocate(Math.max(8L * a.length, 8), 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_DOUBLE, 0, a.length);
        return s.asSlice(0, 8L * a.length);
    }

    static MemorySegment u16(Arena arena, short[] a) {
        MemorySegment s = arena.allocate(Math.max(2L * a.length, 2), 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_SHORT, 0, a.length);
        return s.asSlice(0, 2L * a.length);
    }

    static MemorySegment i32(Arena arena, int[] a) {
        MemorySegment s = arena.allocate(Math.max(4L * a.length, 4), 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_INT, 0, a.length);
        return s.asSlice(0, 4L * a.length);
    }

    static MemorySegment i64(Arena arena, long[] a) {
        MemorySegment s = arena.allocate(Math.max(8L * a.length, 8), 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_LONG, 0, a.length);
        return s.asSlice(0, 8L * a.length);
    }

    static MemorySegment bytes(Arena arena, byte[] a) {
        MemorySegment s = arena.allocate(Math.max(a.length, 1), 64);
        MemorySegment.copy(a, 0, s, ValueLayout.JAVA_BYTE, 0, a.length);
        return s.asSlice(0, a.length);
    }

    static float[] toF32(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_FLOAT);
    }

    static double[] toF64(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_DOUBLE);
    }

    static short[] toU16(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_SHORT);
    }

    static int[] toI32(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_INT);
    }

    static long[] toI64(MemorySegment s) {
        return s.toArray(ValueLayout.JAVA_LONG);
    }

    /** Uniform in [-1, 1), never exactly zero. */
    static float[] randomF32(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            float v;
            do {
                v = rnd.nextFloat() * 2 - 1;
            } while (v == 0);
            a[i] = v;
        }
        return a;
    }

    static short[] toF16Bits(float[] a) {
        short[] h = new short[a.length];
        for (int i = 0; i < a.length; i++) {
            h[i] = Float.floatToFloat16(a[i]);
        }
        return h;
    }

    static float[] fromF16Bits(short[] h) {
        float[] a = new float[h.length];
        for (int i = 0; i < h.length; i++) {
            a[i] = Float.float16ToFloat(h[i]);
        }
        return a;
    }

    /** bf16 by truncation: an exactly representable bf16 value, whose widening the test checks. */
    static short[] toBf16Bits(float[] a) {
        short[] h = new short[a.length];
        for (int i = 0; i < a.length; i++) {
            h[i] = (short) (Float.floatToRawIntBits(a[i]) >>> 16);
        }
        return h;
    }

    static float[] fromBf16Bits(short[] h) {
        float[] a = new float[h.length];
        for (int i = 0; i < h.length; i++) {
            a[i] = Float.intBitsToFloat((h[i] & 0xffff) << 16);
        }
        return a;
    }

    /** ||got - want|| / ||want|| in float64. */
    static double relErr(float[] got, double[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            double d = got[i] - want[i];
            num += d * d;
            den += want[i] * want[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    /** Largest |got - want| / (|want| + floor). */
    static double maxRelErr(float[] got, double[] want, double floor) {
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + floor));
        }
        return worst;
    }
}
