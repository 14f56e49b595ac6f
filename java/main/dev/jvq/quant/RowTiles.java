package dev.jvq.quant;

import dev.jvq.backend.Backend;
import dev.jvq.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Multiplication of a quantised matrix by dequantising it one tile of rows at a time into a
 * scratch buffer and handing each tile to the dense kernels: the full dense matrix never exists.
 */
final class RowTiles {

    /** Writes rows [row0, row0+nrows) of W as dense f32 into dst. */
    @FunctionalInterface
    interface Dequantizer {
        void rows(Backend backend, MemorySegment dst, long row0, long nrows);
    }

    private RowTiles() {}

    static long tileRows(long rows, long cols, long tileElements) {
        return Math.max(1, Math.min(rows, tileElements / cols));
    }

    /** Y[n x rows] = X[n x cols] Wᵀ. */
    static void gemm(Backend backend, long rows, long cols, long n, MemorySegment x, MemorySegment y,
            long tileElements, Dequantizer dq) {
        long tile = tileRows(rows, cols, tileElements);
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment w = scratch.allocate(tile * cols * 4, 64);
            if (tile == rows) {
                dq.rows(backend, w, 0, rows);
                backend.gemm(DType.F32, w, x, y, n, rows, cols);
                return;
            }
            // Each tile yields the columns [row0, row0+nr) of Y; compute them contiguously, then
            // copy them into place row by row.
            MemorySegment part = scratch.allocate(n * tile * 4, 64);
            for (long row0 = 0; row0 < rows; row0 += tile) {
                long nr = Math.min(tile, rows - row0);
                MemorySegment wt = w.asSlice(0, nr * cols * 4);
                dq.rows(backend, wt, row0, nr);
                MemorySegment pt = part.asSlice(0, n * nr * 4);
                backend.gemm(DType.F32, wt, x, pt, n, nr, cols);
                for (long t = 0; t < n; t++) {
                    MemorySegment.copy(pt, t * nr * 4, y, (t * rows + row0) * 4, nr * 4);
                }
            }
        }
    }

    /** y[rows] = W x. */
    static void gemv(Backend backend, long rows, long cols, MemorySegment x, MemorySegment y, long tileElements,
            Dequantizer dq) {
        long tile = tileRows(rows, cols, tileElements);
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment w = scratch.allocate(tile * cols * 4, 64);
            for (long row0 = 0; row0 < rows; row0 += tile) {
                long nr = Math.min(tile, rows - row0);
                MemorySegment wt = w.asSlice(0, nr * cols * 4);
                dq.rows(backend, wt, row0, nr);
                backend.gemv(DType.F32, wt, x, y.asSlice(row0 * 4, nr * 4), nr, cols);
            }
        }
    }
}
