package dev.jvq.rsavq;

import dev.jvq.JvqException;
import dev.jvq.backend.Backend;
import dev.jvq.quant.BitPacker;
import dev.jvq.quant.Codebook;
import dev.jvq.quant.CodebookScope;
import dev.jvq.quant.LittleEndian;
import dev.jvq.quant.PqGroup;
import dev.jvq.quant.RsavqLinear;
import dev.jvq.quant.Sampling;
import dev.jvq.quant.WeightRows;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * RSAVQ over a set of matrices (docs RSAVQ.md). Per matrix: row scales, the natural gradient Ñ,
 * channel sensitivities and the WCSG bit plan (permutation + groups). Then per codebook — one per
 * (matrix, group) with scope {@code matrix} (the paper), or one per bit width shared by all groups of
 * that width in a projection kind ({@code kind}) or the model ({@code model}) — the sub-vectors of
 * its members are pooled, one table per PQ subspace is trained (k-means, then EDSG) and the members
 * are coded.
 */
public final class RsavqQuantizer {

    /** Fisher statistics of one matrix (float64, row-major): Ḡ [m x n], F_I [n x n], F_O [m x m], damped. */
    public record Fisher(double[] meanGradient, double[] inputFactor, double[] outputFactor) {}

    /** One matrix: its name, projection kind, weights and Fisher statistics (null: none, only without EDSG/WCSG). */
    public record Input(String name, String kind, Tensor weight, Fisher fisher) {}

    public record Result(List<RsavqLinear> layers, List<Codebook> sharedCodebooks, List<String> warnings) {}

    private RsavqQuantizer() {}

    /** A matrix ready for coding: W/s in stored-column order is read through {@link #value}. */
    private static final class Prepared {
        final Input in;
        final int rows;
        final int cols;
        final float[] w;
        final float[] scale;
        final short[] scale16;
        final double[] naturalGradient;
        final double[] rowWeight;
        final double[] colWeight;
        final BitPlan plan;
        /** Per group: the index of each of its sub-vectors in its subspace's set, in code order. */
        final int[][] setIndex;

        Prepared(Input in, int rows, int cols, float[] w, float[] scale, short[] scale16, double[] naturalGradient,
                double[] rowWeight, double[] colWeight, BitPlan plan) {
            this.in = in;
            this.rows = rows;
            this.cols = cols;
            this.w = w;
            this.scale = scale;
            this.scale16 = scale16;
            this.naturalGradient = naturalGradient;
            this.rowWeight = rowWeight;
            this.colWeight = colWeight;
            this.plan = plan;
            this.setIndex = new int[plan.groupBits().length][];
        }
    }

    /** Quantises every input; output buffers come from {@code arena}; progress lines go to {@code log}. */
    public static Result quantize(List<Input> inputs, RsavqParams p, CodebookScope scope, Backend backend, Arena arena,
            Consumer<String> log) {
        List<String> warnings = new ArrayList<>();
        List<Prepared> prepared = new ArrayList<>();
        for (Input in : inputs) {
            prepared.add(prepare(in, p));
        }
        double weightNorm = fisherNormaliser(prepared);
        // Codebook buckets: key → members (matrix index, group index).
        Map<String, List<int[]>> buckets = new LinkedHashMap<>();
        for (int i = 0; i < prepared.size(); i++) {
            Prepared pm = prepared.get(i);
            for (int g = 0; g < pm.plan.groupBits().length; g++) {
                buckets.computeIfAbsent(bucketKey(scope, pm.in, g, pm.plan.groupBits()[g]), x -> new ArrayList<>())
                        .add(new int[] {i, g});
            }
        }
        @SuppressWarnings("unchecked")
        List<PqGroup>[] groupsOf = new List[prepared.size()];
        for (int i = 0; i < groupsOf.length; i++) {
            groupsOf[i] = new ArrayList<>();
            for (int g = 0; g < prepared.get(i).plan.groupBits().length; g++) {
                groupsOf[i].add(null);
            }
        }
        List<Codebook> shared = new ArrayList<>();
        int done = 0;
        for (Map.Entry<String, List<int[]>> bucket : buckets.entrySet()) {
            Codebook cb = codeBucket(bucket.getKey(), bucket.getValue(), prepared, scope, p, weightNorm, backend, arena,
                    groupsOf, warnings, log);
            if (cb.shared()) {
                shared.add(cb);
            }
            done++;
            log.accept(String.format(Locale.ROOT, "rsavq: codebook %d/%d (%s) done", done, buckets.size(),
                    bucket.getKey()));
        }
        List<RsavqLinear> layers = new ArrayList<>();
        for (int i = 0; i < prepared.size(); i++) {
            Prepared pm = prepared.get(i);
            MemorySegment perm = arena.allocate((long) pm.cols * 4, 64);
            for (int j = 0; j < pm.cols; j++) {
                perm.setAtIndex(LittleEndian.I32, j, pm.plan.permutation()[j]);
            }
            MemorySegment scales = null;
            if (p.rowScale()) {
                scales = arena.allocate((long) pm.rows * 2, 64);
                for (int r = 0; r < pm.rows; r++) {
                    scales.setAtIndex(LittleEndian.I16, r, pm.scale16[r]);
                }
            }
            layers.add(new RsavqLinear(pm.in.name(), pm.rows, pm.cols, p.subLength(), p.subspaces(), perm, groupsOf[i],
                    scales));
        }
        return new Result(layers, shared, warnings);
    }

    private static Prepared prepare(Input in, RsavqParams p) {
        WeightRows src = new WeightRows(in.weight());
        int m = src.rows();
        int n = src.cols();
        float[] w = new float[m * n];
        float[] row = new float[n];
        float[] scale = new float[m];
        short[] scale16 = new short[m];
        double sumSq = 0;
        for (int r = 0; r < m; r++) {
            src.read(r, row);
            System.arraycopy(row, 0, w, r * n, n);
            double ss = 0;
            for (float v : row) {
                ss += (double) v * v;
            }
            sumSq += ss;
            if (p.rowScale()) {
                // RMS of the row, fp16-rounded as stored; a zero row gets a tiny positive scale.
                short s16 = Float.floatToFloat16((float) Math.max(Math.sqrt(ss / n), 1e-6));
                if (Float.isInfinite(Float.float16ToFloat(s16))) {
                    throw new JvqException(in.name() + ": row " + r + " has an RMS beyond the fp16 range of row scales");
                }
                scale16[r] = s16;
                scale[r] = Float.float16ToFloat(s16);
            } else {
                scale[r] = 1f;
            }
        }
        int groups = Math.min(p.groups(), n);
        Fisher f = in.fisher();
        if (f == null && (p.edsg() || p.wcsg())) {
            throw new IllegalArgumentException(in.name() + ": RSAVQ with EDSG or WCSG needs Fisher statistics");
        }
        double[] ng = null;
        double[] rowWeight = null;
        double[] colWeight = null;
        if (f != null) {
            checkLength(in, "mean gradient", f.meanGradient(), (long) m * n);
            checkLength(in, "input factor F_I", f.inputFactor(), (long) n * n);
            checkLength(in, "output factor F_O", f.outputFactor(), (long) m * m);
            if (p.edsg()) {
                double rms = Math.sqrt(sumSq / ((double) m * n));
                ng = NaturalGradient.compute(f.meanGradient(), f.outputFactor(), f.inputFactor(), m, n,
                        p.rescaleNaturalGradient() ? rms : 0);
            }
            rowWeight = new double[m];
            colWeight = new double[n];
            for (int r = 0; r < m; r++) {
                rowWeight[r] = f.outputFactor()[r * m + r];
            }
            for (int c = 0; c < n; c++) {
                colWeight[c] = f.inputFactor()[c * n + c];
            }
        }
        BitPlan plan = p.wcsg()
                ? BitAllocation.plan(p.sensitivity().of(w, f.meanGradient(), f.outputFactor(), f.inputFactor(), m, n),
                        p.bits(), groups, p.allocation(), RsavqParams.MIN_GROUP_BITS, p.maxGroupBits())
                : BitAllocation.uniform(n, p.bits(), groups);
        return new Prepared(in, m, n, w, scale, scale16, ng, rowWeight, colWeight, plan);
    }

    private static void checkLength(Input in, String what, double[] a, long expected) {
        if (a == null || a.length != expected) {
            throw new IllegalArgumentException(in.name() + ": " + what + " has " + (a == null ? 0 : a.length)
                    + " entries, expected " + expected);
        }
    }

    /**
     * One constant for all matrices that brings the diagonal Fisher weights F_I[c,c]·F_O[r,r] near 1
     * in float32 while keeping their ratios across matrices (a codebook shared by several matrices
     * weighs each by how much the loss cares about it).
     */
    private static double fisherNormaliser(List<Prepared> prepared) {
        double sum = 0;
        int count = 0;
        for (Prepared pm : prepared) {
            if (pm.rowWeight == null) {
                continue;
            }
            sum += mean(pm.rowWeight) * mean(pm.colWeight);
            count++;
        }
        return count == 0 || !(sum > 0) ? 1 : count / sum;
    }

    private static double mean(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v;
        }
        return s / a.length;
    }

    private static String bucketKey(CodebookScope scope, Input in, int group, int bits) {
        return switch (scope) {
            case MATRIX -> "matrix:" + in.name() + ".g" + group;
            case KIND -> "rsavq.kind:" + in.kind() + ".b" + bits;
            case MODEL -> "rsavq.model.b" + bits;
        };
    }

    /** Pools the bucket's sub-vectors, trains its tables and builds its members' PQ groups. */
    private static Codebook codeBucket(String key, List<int[]> members, List<Prepared> prepared, CodebookScope scope,
            RsavqParams p, double weightNorm, Backend backend, Arena arena, List<PqGroup>[] groupsOf,
            List<String> warnings, Consumer<String> log) {
        int len = p.subLength();
        int subspaces = p.subspaces();
        int bits = prepared.get(members.get(0)[0]).plan.groupBits()[members.get(0)[1]];
        SubVectorSet[] sets = new SubVectorSet[subspaces];
        for (int s = 0; s < subspaces; s++) {
            sets[s] = new SubVectorSet(len, 1024);
        }
        float[] u = new float[len];
        float[] wt = new float[len];
        float[] target = new float[len];
        for (int[] mg : members) {
            Prepared pm = prepared.get(mg[0]);
            int g = mg[1];
            int c0 = pm.plan.groupStart()[g];
            int c1 = pm.plan.groupStart()[g + 1];
            long t = PqGroup.subVectors(pm.rows, len);
            int[] index = new int[Math.toIntExact((c1 - c0) * t)];
            int o = 0;
            for (int j = c0; j < c1; j++) {
                int col = pm.plan.permutation()[j];
                for (int sv = 0; sv < t; sv++) {
                    int valid = (int) Math.min(len, pm.rows - (long) sv * len);
                    for (int d = 0; d < valid; d++) {
                        int r = sv * len + d;
                        float s = pm.scale[r];
                        u[d] = pm.w[r * pm.cols + col] / s;
                        wt[d] = pm.rowWeight == null ? 1f
                                : (float) (pm.rowWeight[r] * pm.colWeight[col] * s * s * weightNorm);
                        target[d] = pm.naturalGradient == null ? u[d]
                                : (float) (u[d] - p.lambda() * pm.naturalGradient[r * pm.cols + col] / s);
                    }
                    index[o++] = sets[sv % subspaces].add(u, wt, target, valid);
                }
            }
            pm.setIndex[g] = index;
        }
        int k = 1 << (bits * len);
        long fewest = Long.MAX_VALUE;
        for (SubVectorSet set : sets) {
            long whole = 0;
            for (int i = 0; i < set.size(); i++) {
                whole += set.valid(i) == len ? 1 : 0;
            }
            fewest = Math.min(fewest, whole);
        }
        if (fewest < 2) {
            throw new JvqException(key + ": only " + fewest + " whole sub-vector(s) of " + len
                    + " rows; RSAVQ needs at least 2 per subspace (use a shorter --vector-length)");
        }
        if (k > fewest) {
            int clamped = Integer.highestOneBit((int) Math.min(fewest, Integer.MAX_VALUE));
            String msg = key + ": " + k + " codewords per table exceed the " + fewest + " sub-vectors; using " + clamped;
            warnings.add(msg);
            log.accept("warning: " + msg);
            k = clamped;
        }
        SplittableRandom rng = Sampling.generatorFor(p.seed(), key);
        float[][] tables = new float[subspaces][];
        int[][] codes = new int[subspaces][];
        for (int s = 0; s < subspaces; s++) {
            EdsgCodebook.Result r = EdsgCodebook.train(sets[s], k, p, rng, backend);
            tables[s] = r.codewords();
            codes[s] = r.codes();
        }
        MemorySegment data = arena.allocate((long) subspaces * k * len * 2, 64);
        for (int s = 0; s < subspaces; s++) {
            for (int i = 0; i < k * len; i++) {
                data.setAtIndex(LittleEndian.I16, (long) s * k * len + i, Float.floatToFloat16(tables[s][i]));
            }
        }
        String sharedName = scope == CodebookScope.MATRIX ? null : key;
        Codebook cb = new Codebook(sharedName, subspaces * k, len, data);
        int codeBits = BitPacker.bitsFor(k);
        for (int[] mg : members) {
            Prepared pm = prepared.get(mg[0]);
            int g = mg[1];
            int c0 = pm.plan.groupStart()[g];
            int cols = pm.plan.groupStart()[g + 1] - c0;
            long t = PqGroup.subVectors(pm.rows, len);
            int[] index = pm.setIndex[g];
            int[] groupCodes = new int[index.length];
            for (int i = 0; i < index.length; i++) {
                groupCodes[i] = codes[(int) ((i % t) % subspaces)][index[i]];
            }
            MemorySegment packed = arena.allocate(BitPacker.packedBytes(groupCodes.length, codeBits)
                    + BitPacker.TAIL_BYTES, 64);
            BitPacker.pack(groupCodes, codeBits, packed);
            groupsOf[mg[0]].set(g, new PqGroup(c0, cols, codeBits, k, cb, packed));
            pm.setIndex[g] = null;
        }
        return cb;
    }
}
