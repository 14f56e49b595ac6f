package dev.jvq.quant;

import dev.jvq.backend.Backend;
import dev.jvq.backend.PqLayout;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * An RSAVQ layer (docs RSAVQ.md): W [rows x cols] ≈ diag(s) · Ŵ_P, where the stored column j holds the
 * original column {@code permutation[j]} (channels sorted by WCSG sensitivity) and the stored columns
 * are cut into {@link PqGroup}s, each with its own code width and codebook.
 *
 * <p>Down each column, rows are cut into sub-vectors of {@code subLength} consecutive rows (the last
 * one may be short): sub-vector t covers rows [t·subLength, min(rows, (t+1)·subLength)) and is coded
 * in subspace {@code t mod subspaces}, so a PQ vector of length v = subLength·subspaces is the
 * {@code subspaces} consecutive sub-vectors starting at a multiple of v (VPTQ layout, vectors along
 * the output dimension).
 *
 * <p>Ŵ[r, permutation[j]] = s_r · codeword_{g(j)}[subspace(t)][code(j, t)][r − t·subLength] with
 * t = r / subLength, s_r = 1 when {@code rowScales} is null.
 *
 * @param permutation cols int32 original column indices (a permutation of 0..cols−1)
 * @param rowScales rows fp16 scales, or null for none
 */
public record RsavqLinear(String name, long rows, long cols, int subLength, int subspaces,
        MemorySegment permutation, List<PqGroup> groups, MemorySegment rowScales, PqLayout kernelLayout)
        implements QuantizedLayer {

    /**
     * A layer over these segments; its kernel arguments ({@link #kernelLayout}: the small native arrays
     * of group starts, widths and pointers) are built here once, not per call.
     */
    public RsavqLinear(String name, long rows, long cols, int subLength, int subspaces, MemorySegment permutation,
            List<PqGroup> groups, MemorySegment rowScales) {
        this(name, rows, cols, subLength, subspaces, permutation, groups, rowScales, null);
    }

    /**
     * The canonical constructor: {@code kernelLayout} null builds it from the other components. (The
     * layout lives in the record, not in a side table keyed by the record: two layers over segments at
     * the same addresses — one freed, one new — are equal records, and must not share kernel arguments.)
     */
    public RsavqLinear {
        groups = List.copyOf(groups);
        if (rows < 1 || cols < 1 || rows * cols > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(name + ": bad shape " + rows + " x " + cols);
        }
        if (subLength < 1 || subspaces < 1) {
            throw new IllegalArgumentException(name + ": sub-vector length " + subLength + ", subspaces " + subspaces);
        }
        if (permutation.byteSize() != cols * 4) {
            throw new IllegalArgumentException(name + ": permutation of " + permutation.byteSize() + " bytes for "
                    + cols + " columns");
        }
        boolean[] seen = new boolean[(int) cols];
        for (long j = 0; j < cols; j++) {
            int p = permutation.getAtIndex(LittleEndian.I32, j);
            if (p < 0 || p >= cols || seen[p]) {
                throw new IllegalArgumentException(name + ": column permutation is not a permutation of 0.." + (cols - 1));
            }
            seen[p] = true;
        }
        long next = 0;
        for (PqGroup g : groups) {
            if (g.colStart() != next) {
                throw new IllegalArgumentException(name + ": PQ groups do not tile the columns (group at "
                        + g.colStart() + ", expected " + next + ")");
            }
            if (g.codebook().b() != subLength || g.subspaces() != subspaces) {
                throw new IllegalArgumentException(name + ": group at column " + g.colStart() + " has a codebook of "
                        + g.subspaces() + " x " + g.codebook().b() + "-value tables, the layer " + subspaces + " x "
                        + subLength);
            }
            if (g.codes().byteSize() < g.codeBytes(rows) + BitPacker.TAIL_BYTES) {
                throw new IllegalArgumentException(name + ": group at column " + g.colStart() + " has "
                        + g.codes().byteSize() + " code bytes, needs " + (g.codeBytes(rows) + BitPacker.TAIL_BYTES));
            }
            next += g.colCount();
        }
        if (next != cols) {
            throw new IllegalArgumentException(name + ": PQ groups cover " + next + " of " + cols + " columns");
        }
        if (rowScales != null && rowScales.byteSize() != rows * 2) {
            throw new IllegalArgumentException(name + ": " + rowScales.byteSize() + " bytes of row scales for " + rows
                    + " rows");
        }
        if (kernelLayout == null) {
            kernelLayout = newKernelLayout(rows, cols, subLength, subspaces, permutation, groups, rowScales);
        }
    }

    /** T = ceil(rows / subLength). */
    public long subVectors() {
        return PqGroup.subVectors(rows, subLength);
    }

    /** Bits one stored permutation entry takes in the file: ceil(log2 cols), at least 1. */
    public int permutationBits() {
        return cols < 2 ? 1 : BitPacker.bitsFor(cols);
    }

    @Override
    public String method() {
        StringBuilder sb = new StringBuilder("rsavq v=" + subLength * subspaces + " bits=");
        for (int i = 0; i < groups.size(); i++) {
            sb.append(i == 0 ? "" : "/").append(groups.get(i).bits());
        }
        return sb.toString();
    }

    @Override
    public LinkedHashMap<String, Long> bitsByPart() {
        LinkedHashMap<String, Long> parts = new LinkedHashMap<>();
        long indices = 0;
        long codebooks = 0;
        for (PqGroup g : groups) {
            indices += (long) g.colCount() * subVectors() * g.bits();
            // A shared codebook is counted once for the model, not per layer (BitReport adds it).
            codebooks += g.codebook().shared() ? 0 : g.codebook().bits();
        }
        parts.put("indices", indices);
        parts.put("codebook", codebooks);
        parts.put("permutation", cols * permutationBits());
        parts.put("scales", rowScales == null ? 0 : rows * 16);
        return parts;
    }

    /** The group holding stored column j. */
    public PqGroup groupOf(long j) {
        for (PqGroup g : groups) {
            if (j < g.colStart() + g.colCount()) {
                return g;
            }
        }
        throw new IndexOutOfBoundsException("column " + j + " of " + cols);
    }

    private static PqLayout newKernelLayout(long rows, long cols, int subLength, int subspaces,
            MemorySegment permutation, List<PqGroup> groups, MemorySegment rowScales) {
        int n = groups.size();
        int[] colStart = new int[n + 1];
        int[] bits = new int[n];
        int[] k = new int[n];
        MemorySegment[] codes = new MemorySegment[n];
        MemorySegment[] codebooks = new MemorySegment[n];
        for (int g = 0; g < n; g++) {
            PqGroup group = groups.get(g);
            colStart[g] = group.colStart();
            bits[g] = group.bits();
            k[g] = group.k();
            codes[g] = group.codes();
            codebooks[g] = group.codebook().data();
        }
        colStart[n] = Math.toIntExact(cols);
        return new PqLayout(rows, cols, subLength, subspaces, permutation, colStart, bits, k, codes, codebooks,
                rowScales == null ? MemorySegment.NULL : rowScales);
    }

    /** y = W x with the backend's fused PQ kernel (x in original column order). */
    @Override
    public void gemv(Backend backend, MemorySegment x, MemorySegment y) {
        backend.pqGemv(kernelLayout(), x, y);
    }

    /** Dequantises rows [row0, row0+nrows) into dst (nrows x cols f32, original column order). */
    public void dequantizeRows(Backend backend, MemorySegment dst, long row0, long nrows) {
        backend.pqDequantRows(kernelLayout(), dst, row0, nrows);
    }

    /** Y[n x rows] = X Wᵀ one dequantised tile of rows at a time (as VqLinear). */
    @Override
    public void gemm(Backend backend, MemorySegment x, MemorySegment y, long n) {
        RowTiles.gemm(backend, rows, cols, n, x, y, VqLinear.TILE_ELEMENTS, this::dequantizeRows);
    }

    @Override
    public long storageBytes() {
        long bytes = permutation.byteSize() + (rowScales == null ? 0 : rowScales.byteSize());
        for (PqGroup g : groups) {
            bytes += g.codeBytes(rows) + g.codebook().data().byteSize();
        }
        return bytes;
    }

    /** The reconstruction Ŵ (rows x cols, original column order) computed in Java, for tests and references. */
    public float[] dequantizeInJava() {
        int r = Math.toIntExact(rows);
        int c = Math.toIntExact(cols);
        long t = subVectors();
        float[] out = new float[r * c];
        for (PqGroup g : groups) {
            float[] cb = g.codebook().toFloats();
            BitPacker.Reader in = new BitPacker.Reader(g.codes(), g.bits(), 0);
            for (int j = g.colStart(); j < g.colStart() + g.colCount(); j++) {
                int col = permutation.getAtIndex(LittleEndian.I32, j);
                for (long s = 0; s < t; s++) {
                    int code = in.next();
                    int table = (int) (s % subspaces);
                    for (int d = 0; d < subLength; d++) {
                        long row = s * subLength + d;
                        if (row < r) {
                            out[(int) row * c + col] = cb[((table * g.k()) + code) * subLength + d];
                        }
                    }
                }
            }
        }
        if (rowScales != null) {
            for (int i = 0; i < r; i++) {
                float s = Float.float16ToFloat(rowScales.getAtIndex(LittleEndian.I16, i));
                for (int j = 0; j < c; j++) {
                    out[i * c + j] *= s;
                }
            }
        }
        return out;
    }
}
