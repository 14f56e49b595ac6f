/* Sparse residual scatter: dst[row - row0][col] += val * row_scale[row] for the residuals of rows
 * [row0, row0 + nrows). The flat indices are sorted, so the row range is one contiguous run found by
 * binary search. Every write is bounds-checked against the row range, so an unsorted or
 * out-of-range index can lose residuals but never write outside dst.
 * No SIMD form (AVX-512 included): a vector read-add-scatter would need conflict detection for
 * repeated indices (AVX512CD, outside the F+BW+VL baseline), and no hot path calls this. */
#include "jvq_cpu.h"

void jvq_sparse_scatter(float* dst, int64_t row0, int64_t nrows, int64_t cols, const int32_t* flat_idx,
                        const uint16_t* val, int64_t nnz, const uint16_t* row_scale) {
    if (nnz <= 0 || nrows <= 0 || cols <= 0) return;
    int64_t lo = row0 * cols, hi = (row0 + nrows) * cols;
    for (int64_t p = jvq_lower_bound_i32(flat_idx, nnz, lo); p < nnz; p++) {
        int64_t f = flat_idx[p];
        if (f >= hi) break;
        if (f < lo) continue;
        int64_t r = f / cols;
        float s = row_scale ? jvq_f16_to_float(row_scale[r]) : 1.0f;
        dst[f - lo] += jvq_f16_to_float(val[p]) * s;
    }
}
