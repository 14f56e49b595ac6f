package dev.jvq.backend;

import static dev.jvq.backend.NativeArrays.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.ffi.jvq_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bulk dtype conversions (vector and scalar-tail paths alike) against Java's own f16 conversion
 * and a float64 nearest-even reference for bf16, including subnormals, overflow, Inf and NaN.
 */
class CpuConversionTest {

    @BeforeAll
    static void load() {
        new CpuBackend();
    }

    /** Interesting floats: specials, f16/bf16 boundaries, halfway cases, and random bit patterns. */
    static float[] probeFloats() {
        Random rnd = new Random(3);
        int n = 200_003; // not a multiple of the vector width: the tail path runs too
        float[] a = new float[n];
        float[] special = {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE,
            -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN,
            Float.intBitsToFloat(0x7f800001), Float.intBitsToFloat(0xffc00123), 65504f, 65519.99f, 65520f,
            -65520f, 6.1035156e-5f, 5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f, 8.940697e-8f, 1.0009765625f,
            1.00048828125f, 1.00146484375f, Float.intBitsToFloat(0x3f808000), Float.intBitsToFloat(0x3f818000),
            Float.intBitsToFloat(0x7f7f8000), Float.intBitsToFloat(0x7f7f7fff), Float.intBitsToFloat(0x00018000)};
        System.arraycopy(special, 0, a, 0, special.length);
        for (int i = special.length; i < n; i++) {
            a[i] = switch (i % 3) {
                case 0 -> Float.intBitsToFloat(rnd.nextInt());                    // any bit pattern
                case 1 -> (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(40) - 26)); // f16 range
                default -> Float.intBitsToFloat((rnd.nextInt() & ~0x1fff) | 0x1000); // f16 ties
            };
        }
        return a;
    }

    @Test
    void f16RoundTripsMatchJava() {
        float[] src = probeFloats();
        int n = src.length;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = arena.allocate(2L * n);
            jvq_h.jvq_f32_to_f16(f32(arena, src), h, n);
            short[] got = toU16(h);
            for (int i = 0; i < n; i++) {
                if (Float.isNaN(src[i])) {
                    assertTrue(Float.isNaN(Float.float16ToFloat(got[i])), "NaN at " + i);
                    assertEquals(Float.floatToRawIntBits(src[i]) >>> 31, (got[i] >>> 15) & 1, "NaN sign at " + i);
                } else {
                    assertEquals(Float.floatToFloat16(src[i]), got[i], "f32->f16 of " + src[i] + " at " + i);
                }
            }
            // Every f16 bit pattern back to f32.
            short[] all = new short[65536 + 5];
            for (int i = 0; i < all.length; i++) {
                all[i] = (short) i;
            }
            MemorySegment f = arena.allocate(4L * all.length);
            jvq_h.jvq_f16_to_f32(u16(arena, all), f, all.length);
            float[] back = toF32(f);
            for (int i = 0; i < all.length; i++) {
                float want = Float.float16ToFloat(all[i]);
                if (Float.isNaN(want)) {
                    assertTrue(Float.isNaN(back[i]), "f16 NaN " + Integer.toHexString(i));
                } else {
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(back[i]),
                            "f16->f32 of 0x" + Integer.toHexString(i & 0xffff));
                }
            }
        }
    }

    /** Nearest bf16 to a non-NaN float, ties to even, overflow to Inf, in float64. */
    static short bf16Reference(float f) {
        int bits = Float.floatToRawIntBits(f);
        int sign = bits & 0x80000000;
        int abs = bits & 0x7fffffff;
        if (abs >= 0x7f800000) {
            return (short) (bits >>> 16);
        }
        int lo = abs & 0xffff0000;
        int hi = lo + 0x10000;
        double a = Float.intBitsToFloat(abs);
        double dlo = a - Float.intBitsToFloat(lo);
        // Above the largest bf16 the next step is 2^128 (Inf), one ulp of the top binade away.
        double hiVal = hi == 0x7f800000 ? Math.scalb(1.0, 128) : Float.intBitsToFloat(hi);
        double dhi = hiVal - a;
        int pick = dlo < dhi ? lo : dhi < dlo ? hi : ((lo >>> 16) & 1) == 0 ? lo : hi;
        return (short) ((sign | pick) >>> 16);
    }

    @Test
    void bf16RoundTripsMatchNearestEven() {
        float[] src = probeFloats();
        int n = src.length;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = arena.allocate(2L * n);
            jvq_h.jvq_f32_to_bf16(f32(arena, src), h, n);
            short[] got = toU16(h);
            for (int i = 0; i < n; i++) {
                if (Float.isNaN(src[i])) {
                    assertTrue(Float.isNaN(Float.intBitsToFloat((got[i] & 0xffff) << 16)), "NaN at " + i);
                } else {
                    assertEquals(bf16Reference(src[i]), got[i], "f32->bf16 of " + src[i] + " at " + i);
                }
            }
            MemorySegment f = arena.allocate(4L * n);
            jvq_h.jvq_bf16_to_f32(h, f, n);
            float[] back = toF32(f);
            for (int i = 0; i < n; i++) {
                if (!Float.isNaN(back[i])) {
                    assertEquals((got[i] & 0xffff) << 16, Float.floatToRawIntBits(back[i]), "bf16->f32 at " + i);
                }
            }
        }
    }
}
