package dev.jvq.rsavq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.jvq.backend.CpuBackend;
import dev.jvq.quant.TestData;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class EdsgCodebookTest {
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    /** n sub-vectors of length len, every 7th a tail with fewer valid rows, random weights and shifted targets. */
    static SubVectorSet randomSet(int n, int len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        SubVectorSet set = new SubVectorSet(len, 4);
        float[] u = new float[len];
        float[] w = new float[len];
        float[] t = new float[len];
        for (int i = 0; i < n; i++) {
            for (int d = 0; d < len; d++) {
                u[d] = (float) TestData.gaussian(r);
                w[d] = (float) (0.1 + r.nextDouble() * 3);
                t[d] = (float) (u[d] - 0.05 * TestData.gaussian(r));
            }
            set.add(u, w, t, i % 7 == 3 ? 1 + r.nextInt(len - 1) : len);
        }
        return set;
    }

    @Test
    void updateIsTheWeightedMeanOfShiftedTargetsPerCoordinate() {
        int len = 3;
        int k = 5;
        SubVectorSet set = randomSet(101, len, 11);
        SplittableRandom r = new SplittableRandom(3);
        int[] codes = new int[set.size()];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = r.nextInt(k - 1); // codeword k-1 gets no members and must keep its value
        }
        float[] c = new float[k * len];
        for (int i = 0; i < c.length; i++) {
            c[i] = (float) TestData.gaussian(r);
        }
        float[] before = c.clone();
        EdsgCodebook.update(set, codes, c, k);
        for (int j = 0; j < k; j++) {
            for (int d = 0; d < len; d++) {
                double num = 0;
                double den = 0;
                for (int i = 0; i < codes.length; i++) {
                    if (codes[i] == j && d < set.valid(i)) {
                        num += (double) set.weight(i, d) * set.target(i, d);
                        den += set.weight(i, d);
                    }
                }
                double expect = den > 0 ? num / den : before[j * len + d];
                assertEquals(expect, c[j * len + d], 1e-6 * Math.max(1, Math.abs(expect)), "codeword " + j + "." + d);
            }
        }
    }

    @Test
    void everySubVectorIsCodedToItsNearestFp16CodewordOverItsValidRows() {
        int len = 3;
        int k = 16;
        SubVectorSet set = randomSet(997, len, 5);
        for (boolean edsg : new boolean[] {false, true}) {
            RsavqParams p = new RsavqParams(2, 4, 6, 2, 0.05, 3, 4, 200, edsg, false, AllocationRule.PAPER, Sensitivity.PAPER, true, true,
                    1e-2, 0);
            EdsgCodebook.Result res = EdsgCodebook.train(set, k, p, new SplittableRandom(1), cpu);
            float[] c = res.codewords();
            for (float v : c) {
                assertEquals(TestData.half(v), v, 0.0, "codewords are fp16 values");
            }
            for (int i = 0; i < set.size(); i++) {
                double best = Double.MAX_VALUE;
                for (int j = 0; j < k; j++) {
                    best = Math.min(best, dist(set, i, c, j));
                }
                assertTrue(dist(set, i, c, res.codes()[i]) <= best * (1 + 1e-6) + 1e-12, "sub-vector " + i);
            }
        }
    }

    private static double dist(SubVectorSet set, int i, float[] c, int j) {
        double s = 0;
        for (int d = 0; d < set.valid(i); d++) {
            double e = (double) set.value(i, d) - c[j * set.length + d];
            s += e * e;
        }
        return s;
    }
}
