package dev.jvq.quant;

import dev.jvq.JvqException;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Round-to-nearest quantisation of one weight matrix (see {@link RtnParams} for the grids). */
public final class Rtn {
    private Rtn() {}

    /** Quantises {@code weight} (2-D f32/f16/bf16); the result's buffers come from {@code arena}. */
    public static RtnLinear quantize(String name, Tensor weight, RtnParams p, Arena arena) {
        WeightRows in = new WeightRows(weight);
        int rows = in.rows();
        int cols = in.cols();
        int g = p.groupLength(cols);
        long gpr = p.groupsPerRow(cols);
        long groups = rows * gpr;
        MemorySegment codes = arena.allocate(BitPacker.packedBytes((long) rows * cols, p.bits()) + BitPacker.TAIL_BYTES, 64);
        MemorySegment scales = arena.allocate(groups * 2, 64);
        MemorySegment zeros = p.symmetric() ? null : arena.allocate(groups * 2, 64);
        BitPacker.Writer out = new BitPacker.Writer(codes, p.bits());
        float[] row = new float[cols];
        int qmax = p.symmetricMax();
        int levels = (1 << p.bits()) - 1;
        // Scales (and minima) are rounded to fp16 before the weights are divided by them, so that
        // decoding with the stored values reproduces exactly the grid point the rounding chose.
        for (int r = 0; r < rows; r++) {
            in.read(r, row);
            long gi = (long) r * gpr;
            for (int c0 = 0; c0 < cols; c0 += g, gi++) {
                int end = Math.min(cols, c0 + g);
                if (p.symmetric()) {
                    float amax = 0;
                    for (int c = c0; c < end; c++) {
                        amax = Math.max(amax, Math.abs(row[c]));
                    }
                    float s = half(amax / qmax, name, r);
                    scales.setAtIndex(LittleEndian.I16, gi, Float.floatToFloat16(s));
                    for (int c = c0; c < end; c++) {
                        // A zero scale means an all-zero group: every code is the zero level.
                        int q = s == 0 ? 0 : (int) Math.max(-qmax, Math.min(qmax, Math.rint(row[c] / s)));
                        out.write(q + qmax);
                    }
                } else {
                    float lo = Float.POSITIVE_INFINITY;
                    float hi = Float.NEGATIVE_INFINITY;
                    for (int c = c0; c < end; c++) {
                        lo = Math.min(lo, row[c]);
                        hi = Math.max(hi, row[c]);
                    }
                    float s = half((hi - lo) / levels, name, r);
                    float lo16 = half(lo, name, r);
                    scales.setAtIndex(LittleEndian.I16, gi, Float.floatToFloat16(s));
                    zeros.setAtIndex(LittleEndian.I16, gi, Float.floatToFloat16(lo16));
                    for (int c = c0; c < end; c++) {
                        int q = s == 0 ? 0 : (int) Math.max(0, Math.min(levels, Math.rint((row[c] - lo16) / s)));
                        out.write(q);
                    }
                }
            }
        }
        out.finish();
        return new RtnLinear(name, rows, cols, p, codes, scales, zeros);
    }

    /** v rounded to fp16 and back; a value beyond fp16's range cannot be stored. */
    private static float half(float v, String name, int row) {
        float h = Float.float16ToFloat(Float.floatToFloat16(v));
        if (Float.isInfinite(h)) {
            throw new JvqException(name + ": row " + row + " needs a scale of " + v + ", beyond the fp16 range");
        }
        return h;
    }
}
