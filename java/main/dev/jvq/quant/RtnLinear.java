package dev.jvq.quant;

import dev.jvq.backend.Backend;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;

/**
 * An RTN-quantised layer (see {@link RtnParams} for the two grids). Codes are unsigned, packed at
 * {@code bits} bits each in row-major order ({@link BitPacker} layout); the symmetric grid stores
 * q + (2^(bits-1) - 1). Scales (and, when asymmetric, group minima) are fp16, rows x groupsPerRow.
 *
 * <p>gemv runs the fused native kernel ({@code jvq_rtn_gemv}: reads {@code bits} per weight, never
 * materialises W); gemm dequantises a tile of rows at a time with {@code jvq_rtn_dequant_rows} and
 * multiplies it with the dense f32 kernel. {@link #dequantizeRows} is the Java reference both
 * kernels are tested against.
 *
 * @param codes packed codes followed by at least {@link BitPacker#TAIL_BYTES} zero bytes
 * @param zeros group minima (asymmetric), or null when symmetric
 */
public record RtnLinear(String name, long rows, long cols, RtnParams params, MemorySegment codes, MemorySegment scales,
        MemorySegment zeros) implements QuantizedLayer {

    /** Dense f32 elements per dequantised row tile. */
    static final long TILE_ELEMENTS = 1 << 16;

    public RtnLinear {
        if (rows < 1 || cols < 1 || rows * cols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + ": bad shape " + rows + " x " + cols);
        }
        long groups = rows * params.groupsPerRow(cols);
        if (codes.byteSize() < BitPacker.packedBytes(rows * cols, params.bits()) + BitPacker.TAIL_BYTES
                || scales.byteSize() != groups * 2
                || (params.symmetric() ? zeros != null : zeros == null || zeros.byteSize() != groups * 2)) {
            throw new IllegalArgumentException(name + ": segment sizes do not match " + params.methodName() + " "
                    + rows + " x " + cols);
        }
    }

    public long groups() {
        return rows * params.groupsPerRow(cols);
    }

    /** Packed code bytes without the zero tail. */
    public long codeBytes() {
        return BitPacker.packedBytes(rows * cols, params.bits());
    }

    @Override
    public String method() {
        return params.methodName();
    }

    @Override
    public LinkedHashMap<String, Long> bitsByPart() {
        LinkedHashMap<String, Long> parts = new LinkedHashMap<>();
        parts.put("codes", rows * cols * params.bits());
        parts.put("scales", groups() * 16);
        parts.put("zeros", params.symmetric() ? 0L : groups() * 16);
        return parts;
    }

    /** Rows [row0, row0+nrows) as f32 into dst (nrows x cols). */
    public void dequantizeRows(MemorySegment dst, long row0, long nrows) {
        int g = params.groupLength(cols);
        long gpr = params.groupsPerRow(cols);
        int qmax = params.symmetricMax();
        BitPacker.Reader in = new BitPacker.Reader(codes, params.bits(), row0 * cols);
        long out = 0;
        for (long r = row0; r < row0 + nrows; r++) {
            for (long c0 = 0, gi = r * gpr; c0 < cols; c0 += g, gi++) {
                float s = Float.float16ToFloat(scales.getAtIndex(LittleEndian.I16, gi));
                long end = Math.min(cols, c0 + g);
                if (params.symmetric()) {
                    for (long c = c0; c < end; c++) {
                        dst.setAtIndex(LittleEndian.F32, out++, s * (in.next() - qmax));
                    }
                } else {
                    float lo = Float.float16ToFloat(zeros.getAtIndex(LittleEndian.I16, gi));
                    for (long c = c0; c < end; c++) {
                        dst.setAtIndex(LittleEndian.F32, out++, lo + in.next() * s);
                    }
                }
            }
        }
    }

    @Override
    public void gemv(Backend backend, MemorySegment x, MemorySegment y) {
        backend.rtnGemv(codes, params.bits(), params.group(), params.symmetric(), scales, zerosOrNull(), x, y, rows,
                cols);
    }

    /** Rows [row0, row0+nrows) as f32 into dst (nrows x cols) with the backend's kernel. */
    public void dequantizeRows(Backend backend, MemorySegment dst, long row0, long nrows) {
        backend.rtnDequantRows(codes, params.bits(), params.group(), params.symmetric(), scales, zerosOrNull(), dst,
                row0, nrows, cols);
    }

    @Override
    public void gemm(Backend backend, MemorySegment x, MemorySegment y, long n) {
        RowTiles.gemm(backend, rows, cols, n, x, y, TILE_ELEMENTS, this::dequantizeRows);
    }

    private MemorySegment zerosOrNull() {
        return zeros == null ? MemorySegment.NULL : zeros;
    }

    @Override
    public long storageBytes() {
        return codeBytes() + scales.byteSize() + (zeros == null ? 0 : zeros.byteSize());
    }
}
