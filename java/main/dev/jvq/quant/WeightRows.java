package dev.jvq.quant;

import dev.jvq.JvqException;
import dev.jvq.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/** Reads rows of a 2-D f32/f16/bf16 weight tensor (little-endian, row-major) as float32. */
public final class WeightRows {
    private final Tensor weight;
    private final int rows;
    private final int cols;
    private final short[] halfRow;

    public WeightRows(Tensor weight) {
        if (weight.rank() != 2) {
            throw new JvqException(weight.name() + ": expected a 2-D weight matrix, got " + weight);
        }
        switch (weight.dtype()) {
            case F32, F16, BF16 -> { }
            default -> throw new JvqException(weight.name() + ": cannot quantise a " + weight.dtype() + " matrix");
        }
        long r = weight.dim(0);
        long c = weight.dim(1);
        if (r < 1 || c < 1 || r * c > Integer.MAX_VALUE) {
            throw new JvqException(weight.name() + ": shape " + r + " x " + c
                    + " is empty or exceeds the 2^31-1 elements int32 flat indices address");
        }
        this.weight = weight;
        this.rows = (int) r;
        this.cols = (int) c;
        this.halfRow = weight.dtype().bytes == 2 ? new short[cols] : null;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Row r into dst[0..cols); rejects non-finite weights (they would poison every scale). */
    public void read(int r, float[] dst) {
        MemorySegment d = weight.data();
        long off = (long) r * cols * weight.dtype().bytes;
        switch (weight.dtype()) {
            case F32 -> MemorySegment.copy(d, LittleEndian.F32, off, dst, 0, cols);
            case F16 -> {
                MemorySegment.copy(d, LittleEndian.I16, off, halfRow, 0, cols);
                for (int c = 0; c < cols; c++) {
                    dst[c] = Float.float16ToFloat(halfRow[c]);
                }
            }
            case BF16 -> {
                MemorySegment.copy(d, LittleEndian.I16, off, halfRow, 0, cols);
                for (int c = 0; c < cols; c++) {
                    dst[c] = Float.intBitsToFloat((halfRow[c] & 0xFFFF) << 16);
                }
            }
            default -> throw new AssertionError();
        }
        for (int c = 0; c < cols; c++) {
            if (!Float.isFinite(dst[c])) {
                throw new JvqException(weight.name() + ": non-finite weight " + dst[c] + " at row " + r + ", column " + c);
            }
        }
    }
}
