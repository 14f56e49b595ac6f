package dev.jvq.quant;

import dev.jvq.backend.Backend;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;

/**
 * A HAS-VQ layer (ALGORITHMS.md section 2): W ≈ s_i · (C[idx] + S) with the layout of
 * native/include/jvq.h. It multiplies straight from its codes — gemv with the fused
 * dequantise-and-multiply kernel, gemm one row tile at a time — and never materialises the dense
 * matrix.
 *
 * @param codes M = ceil(rows·cols/b) indices of {@code bits} bits, packed LSB-first, followed by at
 *     least {@link BitPacker#TAIL_BYTES} zero bytes
 * @param rowScales rows fp16 scales s_i
 * @param sparseIndex nnz int32 flat indices (row·cols + col), strictly ascending
 * @param sparseValues nnz fp16 residuals S
 */
public record VqLinear(String name, long rows, long cols, Codebook codebook, int bits, MemorySegment codes,
        MemorySegment rowScales, long nnz, MemorySegment sparseIndex, MemorySegment sparseValues)
        implements QuantizedLayer {

    /** Dense f32 elements per gemm row tile (1 MiB of scratch). */
    static final long TILE_ELEMENTS = 1 << 18;

    public VqLinear {
        if (rows < 1 || cols < 1 || rows * cols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + ": bad shape " + rows + " x " + cols);
        }
        if (bits != BitPacker.bitsFor(codebook.k())) {
            throw new IllegalArgumentException(name + ": " + bits + "-bit codes for " + codebook.k() + " centroids");
        }
        long m = vectors(rows, cols, codebook.b());
        if (codes.byteSize() < BitPacker.packedBytes(m, bits) + BitPacker.TAIL_BYTES) {
            throw new IllegalArgumentException(name + ": codes segment of " + codes.byteSize() + " bytes, needs "
                    + (BitPacker.packedBytes(m, bits) + BitPacker.TAIL_BYTES));
        }
        if (rowScales.byteSize() != rows * 2 || sparseIndex.byteSize() != nnz * 4 || sparseValues.byteSize() != nnz * 2) {
            throw new IllegalArgumentException(name + ": scale or sparse segment sizes do not match rows " + rows
                    + ", nnz " + nnz);
        }
    }

    /** M = ceil(rows·cols / b). */
    public static long vectors(long rows, long cols, int b) {
        return (rows * cols + b - 1) / b;
    }

    public long vectors() {
        return vectors(rows, cols, codebook.b());
    }

    /** Packed code bytes without the zero tail. */
    public long codeBytes() {
        return BitPacker.packedBytes(vectors(), bits);
    }

    @Override
    public String method() {
        return "hasvq b=" + codebook.b() + " K=" + codebook.k();
    }

    @Override
    public LinkedHashMap<String, Long> bitsByPart() {
        LinkedHashMap<String, Long> parts = new LinkedHashMap<>();
        parts.put("indices", vectors() * bits);
        parts.put("sparse", nnz * (32 + 16));
        // A shared codebook is counted once for the model, not per layer (BitReport adds it).
        parts.put("codebook", codebook.shared() ? 0L : codebook.bits());
        parts.put("scales", rows * 16);
        return parts;
    }

    @Override
    public void gemv(Backend backend, MemorySegment x, MemorySegment y) {
        backend.vqGemv(codes, bits, codebook.data(), codebook.k(), codebook.b(), rowScales,
                nnz == 0 ? MemorySegment.NULL : sparseIndex, nnz == 0 ? MemorySegment.NULL : sparseValues, nnz,
                x, y, rows, cols);
    }

    /** Dequantises rows [row0, row0+nrows) into dst (nrows x cols f32) with the backend's kernel. */
    public void dequantizeRows(Backend backend, MemorySegment dst, long row0, long nrows) {
        backend.vqDequantRows(codes, bits, codebook.data(), codebook.k(), codebook.b(), rowScales,
                nnz == 0 ? MemorySegment.NULL : sparseIndex, nnz == 0 ? MemorySegment.NULL : sparseValues, nnz,
                dst, row0, nrows, cols);
    }

    /**
     * Y[n x rows] = X Wᵀ: dequantises a tile of rows into scratch and multiplies it with the dense
     * gemm kernel, tile after tile, so at most {@link #TILE_ELEMENTS} weights are ever dense at once.
     */
    @Override
    public void gemm(Backend backend, MemorySegment x, MemorySegment y, long n) {
        RowTiles.gemm(backend, rows, cols, n, x, y, TILE_ELEMENTS, this::dequantizeRows);
    }

    @Override
    public long storageBytes() {
        return codeBytes() + codebook.data().byteSize() + rowScales.byteSize() + sparseIndex.byteSize()
                + sparseValues.byteSize();
    }

    /** The reconstruction Ŵ (rows x cols) computed in Java, for tests and small matrices. */
    public float[] dequantizeInJava() {
        int r = Math.toIntExact(rows);
        int c = Math.toIntExact(cols);
        int b = codebook.b();
        float[] cb = codebook.toFloats();
        float[] out = new float[r * c];
        BitPacker.Reader codesIn = new BitPacker.Reader(codes, bits, 0);
        long m = vectors();
        for (long v = 0; v < m; v++) {
            int code = codesIn.next();
            for (int d = 0; d < b; d++) {
                long f = v * b + d;
                if (f < out.length) {
                    out[(int) f] = cb[code * b + d];
                }
            }
        }
        for (long i = 0; i < nnz; i++) {
            int f = sparseIndex.getAtIndex(LittleEndian.I32, i);
            out[f] += Float.float16ToFloat(sparseValues.getAtIndex(LittleEndian.I16, i));
        }
        for (int i = 0; i < r; i++) {
            float s = Float.float16ToFloat(rowScales.getAtIndex(LittleEndian.I16, i));
            for (int j = 0; j < c; j++) {
                out[i * c + j] *= s;
            }
        }
        return out;
    }
}
