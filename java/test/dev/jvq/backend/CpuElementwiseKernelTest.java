package dev.jvq.backend;

import static dev.jvq.backend.NativeArrays.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** rmsnorm, softmax, rope, silu_mul, add and attention against float64 references. */
class CpuElementwiseKernelTest {

    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    static void assertClose(float[] got, double[] want, double tol, String what) {
        double err = maxRelErr(got, want, 1e-3);
        assertTrue(err < tol, what + ": max relative error " + err);
    }

    @ParameterizedTest
    @CsvSource({"1,1", "3,67", "5,1023", "2,8"})
    void rmsnorm(int n, int dim) {
        Random rnd = new Random(n * 31 + dim);
        float[] x = randomF32(rnd, n * dim), w = randomF32(rnd, dim);
        float eps = 1e-5f;
        double[] want = new double[n * dim];
        for (int i = 0; i < n; i++) {
            double ss = 0;
            for (int j = 0; j < dim; j++) {
                ss += (double) x[i * dim + j] * x[i * dim + j];
            }
            double inv = 1 / Math.sqrt(ss / dim + eps);
            for (int j = 0; j < dim; j++) {
                want[i * dim + j] = x[i * dim + j] * inv * w[j];
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment xs = f32(arena, x), out = arena.allocate(4L * n * dim);
            cpu.rmsnorm(out, xs, f32(arena, w), n, dim, eps);
            assertClose(toF32(out), want, 1e-5, "rmsnorm");
            cpu.rmsnorm(xs, xs, f32(arena, w), n, dim, eps); // in place
            assertClose(toF32(xs), want, 1e-5, "rmsnorm in place");
        }
    }

    @ParameterizedTest
    @CsvSource({"1,1", "4,67", "3,1000"})
    void softmaxSubtractsTheMaximum(int n, int len) {
        Random rnd = new Random(len);
        float[] x = randomF32(rnd, n * len);
        for (int i = 0; i < x.length; i++) {
            x[i] = x[i] * 30 + 95; // exp(x) alone would overflow f32
        }
        double[] want = new double[x.length];
        for (int i = 0; i < n; i++) {
            double mx = Double.NEGATIVE_INFINITY, sum = 0;
            for (int j = 0; j < len; j++) {
                mx = Math.max(mx, x[i * len + j]);
            }
            for (int j = 0; j < len; j++) {
                sum += Math.exp(x[i * len + j] - mx);
            }
            for (int j = 0; j < len; j++) {
                want[i * len + j] = Math.exp(x[i * len + j] - mx) / sum;
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = f32(arena, x);
            cpu.softmax(s, n, len);
            assertClose(toF32(s), want, 1e-4, "softmax"); // expf is not correctly rounded
        }
    }

    @ParameterizedTest
    @EnumSource(RopeStyle.class)
    void ropeRotatesThePairsOfItsStyle(RopeStyle style) {
        int nTok = 5, nHeads = 3, hd = 10;
        Random rnd = new Random(style.ordinal());
        float[] x = randomF32(rnd, nTok * nHeads * hd);
        int[] pos = {0, 1, 7, 100, 2047};
        float[] inv = new float[hd / 2];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = (float) Math.pow(10000, -2.0 * i / hd);
        }
        double[] want = new double[x.length];
        for (int t = 0; t < nTok; t++) {
            for (int h = 0; h < nHeads; h++) {
                int base = (t * nHeads + h) * hd;
                for (int i = 0; i < hd / 2; i++) {
                    int a = style == RopeStyle.INTERLEAVED ? base + 2 * i : base + i;
                    int b = style == RopeStyle.INTERLEAVED ? a + 1 : a + hd / 2;
                    double ang = (double) (float) (pos[t] * inv[i]); // the angle itself is f32 by definition
                    want[a] = x[a] * Math.cos(ang) - x[b] * Math.sin(ang);
                    want[b] = x[a] * Math.sin(ang) + x[b] * Math.cos(ang);
                }
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = f32(arena, x);
            cpu.rope(s, nTok, nHeads, hd, i32(arena, pos), f32(arena, inv), style);
            double err = relErr(toF32(s), want);
            assertTrue(err < 1e-5, style + ": " + err);
        }
    }

    @Test
    void siluMulAndAdd() {
        int n = 1031;
        Random rnd = new Random(11);
        float[] g = randomF32(rnd, n), u = randomF32(rnd, n);
        for (int i = 0; i < n; i++) {
            g[i] *= 12;
        }
        g[0] = -200f; // e^200 overflows: the result must be -0, not NaN
        g[1] = 200f;
        double[] want = new double[n];
        double[] sum = new double[n];
        for (int i = 0; i < n; i++) {
            want[i] = g[i] / (1 + Math.exp(-(double) g[i])) * u[i];
            sum[i] = (double) g[i] + u[i];
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment gs = f32(arena, g), as = f32(arena, g);
            cpu.siluMul(gs, f32(arena, u), n);
            assertClose(toF32(gs), want, 1e-5, "silu_mul");
            cpu.add(as, f32(arena, u), n);
            assertClose(toF32(as), sum, 1e-6, "add");
        }
    }

    static double[] refAttention(float[] q, float[] k, float[] v, int nQ, int qPos0, int nH, int nKv, int hd,
            float scale) {
        double[] out = new double[nQ * nH * hd];
        int group = nH / nKv;
        for (int t = 0; t < nQ; t++) {
            for (int h = 0; h < nH; h++) {
                int g = h / group, len = qPos0 + t + 1;
                double[] s = new double[len];
                double mx = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < len; j++) {
                    double d = 0;
                    for (int e = 0; e < hd; e++) {
                        d += (double) q[(t * nH + h) * hd + e] * k[(j * nKv + g) * hd + e];
                    }
                    s[j] = scale * d;
                    mx = Math.max(mx, s[j]);
                }
                double sum = 0;
                for (int j = 0; j < len; j++) {
                    s[j] = Math.exp(s[j] - mx);
                    sum += s[j];
                }
                for (int e = 0; e < hd; e++) {
                    double o = 0;
                    for (int j = 0; j < len; j++) {
                        o += s[j] / sum * v[(j * nKv + g) * hd + e];
                    }
                    out[(t * nH + h) * hd + e] = o;
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @CsvSource({"1,0,1,1,1", "7,5,6,2,20", "1,130,4,4,16", "9,0,8,1,12", "3,200,6,3,33"})
    void causalGqaAttention(int nQ, int qPos0, int nH, int nKv, int hd) {
        Random rnd = new Random(nQ * 131 + qPos0);
        int ctx = qPos0 + nQ + 2; // caches may hold more rows than needed
        float[] q = randomF32(rnd, nQ * nH * hd), k = randomF32(rnd, ctx * nKv * hd), v = randomF32(rnd, ctx * nKv * hd);
        for (int i = 0; i < q.length; i++) {
            q[i] *= 4; // peaky enough that the max subtraction and block rescaling matter
        }
        float scale = (float) (1 / Math.sqrt(hd));
        double[] want = refAttention(q, k, v, nQ, qPos0, nH, nKv, hd, scale);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(4L * q.length);
            cpu.attention(out, f32(arena, q), f32(arena, k), f32(arena, v), nQ, qPos0, nH, nKv, hd, scale);
            double err = relErr(toF32(out), want);
            assertTrue(err < 1e-5, "attention nQ=" + nQ + " qPos0=" + qPos0 + ": " + err);
        }
    }
}
