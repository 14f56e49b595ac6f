/*
 * vq.cu — the HAS-VQ kernels: sparse residual scatter, the fused VQ-dequant GEMV and row
 * dequantisation. CPU twins: jvq_sparse_scatter, jvq_vq_gemv, jvq_vq_dequant_rows. Layout
 * (jvq.h, ALGORITHMS.md §2): the flattened rows x cols matrix is cut into vectors of b elements,
 * vector v holding flat positions [v*b, v*b + b) (it may straddle two rows); its codeword index is
 * code v of a `bits`-wide LSB-first code stream; the value at flat f is
 *   s[f / cols] * (C[code(f / b)][f % b] + S_f·[f ∈ Ω]),
 * with codebook C (k x b), row scales s and residual values S in f16.
 */
#include "common.cuh"

/* ---------------------------------------------------------------------------------------------
 * Sparse residual scatter. The caller has already narrowed the sorted residual list to the entries
 * of rows [row0, row0 + nrows) (a binary search on the host), so one thread per entry; flat indices
 * are distinct, so no two threads write the same element.
 * ------------------------------------------------------------------------------------------- */
extern "C" __global__ void
jvq_sparse_scatter(float* __restrict__ dst, i64 row0, i64 nrows, i64 cols, const int32_t* __restrict__ flat_idx,
                   const uint16_t* __restrict__ val, i64 nnz, const uint16_t* __restrict__ row_scale) {
    for (i64 e = jvq_tid(); e < nnz; e += jvq_stride()) {
        i64 f = __ldg(flat_idx + e);
        i64 r = f / cols;
        if (r < row0 || r >= row0 + nrows) continue; /* outside the block: the CPU twin skips it too */
        float s = row_scale ? jvq_f16_to_float(__ldg(row_scale + r)) : 1.0f;
        /* __fmul_rn: rounded product, then the add, as the CPU twin does (no fused multiply-add) */
        dst[(r - row0) * cols + (f - r * cols)] += __fmul_rn(jvq_f16_to_float(__ldg(val + e)), s);
    }
}

/* First index in the sorted a[0, n) whose value is >= key, found by the whole warp: each round the
 * 32 lanes probe 32 evenly spread positions and a ballot keeps the gap that holds the boundary, so
 * a list of a million entries takes four or five rounds of one load per lane instead of twenty
 * dependent loads. All lanes must call it with the same arguments; all get the result. */
__device__ __forceinline__ i64 warp_lower_bound(const int32_t* __restrict__ a, i64 n, i64 key, int lane) {
    i64 lo = 0, hi = n; /* the answer lies in [lo, hi] */
    while (lo < hi) {
        i64 p = lo + ((hi - lo) * lane) / JVQ_WARP; /* < hi for every lane */
        bool below = (i64)__ldg(a + p) < key;
        unsigned m = __ballot_sync(JVQ_FULL_MASK, below);
        int c = __popc(m); /* a sorted list: the lanes below the key are a prefix */
        if (c == 0) {
            hi = lo;
        } else {
            i64 pc1 = __shfl_sync(JVQ_FULL_MASK, p, c - 1);
            i64 pc = __shfl_sync(JVQ_FULL_MASK, p, c & 31);
            lo = pc1 + 1;
            if (c < JVQ_WARP) hi = pc;
        }
    }
    return lo;
}

/* Stage the k x b f16 codebook in shared memory when the caller says it fits (cb_in_smem != 0);
 * returns where the kernel reads it from. Ends with a barrier. */
__device__ __forceinline__ const uint16_t* stage_codebook(const uint16_t* __restrict__ codebook, i64 k, i64 b,
                                                          int cb_in_smem) {
    extern __shared__ uint16_t cb_smem[];
    if (!cb_in_smem) return codebook;
    for (i64 e = threadIdx.x; e < k * b; e += blockDim.x) cb_smem[e] = __ldg(codebook + e);
    __syncthreads();
    return cb_smem;
}

/* Per-warp code unpacking: lane l gets the code of vector vstart + l. The codes of those 32 vectors
 * span at most bits + 1 consecutive 32-bit words of the stream (bits <= 24); lanes 0..bits load one
 * word each (one coalesced load), and each lane fetches the two words holding its code by shuffles.
 * Words at or past n_words read as zero. All 32 lanes must call it with the same vstart. */
__device__ __forceinline__ uint32_t warp_code(const uint32_t* __restrict__ codes, i64 n_words, int bits, i64 vstart,
                                              int lane) {
    uint64_t bit0 = (uint64_t)vstart * (uint64_t)bits;
    i64 w0 = (i64)(bit0 >> 5);
    uint32_t word = (lane <= bits && w0 + lane < n_words) ? __ldg(codes + w0 + lane) : 0u;
    uint32_t rel = (uint32_t)(bit0 & 31u) + (uint32_t)lane * (uint32_t)bits;
    int q = (int)(rel >> 5);
    uint32_t lo = __shfl_sync(JVQ_FULL_MASK, word, q & 31);
    uint32_t hi = __shfl_sync(JVQ_FULL_MASK, word, (q + 1) & 31);
    return (uint32_t)((((uint64_t)hi << 32) | lo) >> (rel & 31u)) & (uint32_t)((1ull << bits) - 1ull);
}

/* ---------------------------------------------------------------------------------------------
 * Fused VQ-dequant GEMV: one warp per row (grid-stride; blocks are few and persistent so the
 * codebook is staged into shared memory once per block, not once per row).
 *
 * The warp takes the row's vectors 32 at a time (warp_code), multiplies each vector's elements that
 * belong to the row with x, adds the row's residuals (found with warp_lower_bound) in the same pass
 * and applies the row scale once, to the warp's sum. A code >= k (a corrupt file) makes the row NaN,
 * as on the CPU, instead of reading past the codebook.
 * ------------------------------------------------------------------------------------------- */

#define VQ_WARPS 8

extern "C" __global__ void __launch_bounds__(VQ_WARPS * 32)
jvq_vq_gemv(const uint32_t* __restrict__ codes, i64 n_code_words, int bits, const uint16_t* __restrict__ codebook,
            i64 k, i64 b, const uint16_t* __restrict__ row_scale, const int32_t* __restrict__ flat_idx,
            const uint16_t* __restrict__ val, i64 nnz, const float* __restrict__ x, float* __restrict__ y,
            i64 rows, i64 cols, int cb_in_smem) {
    const uint16_t* cb = stage_codebook(codebook, k, b, cb_in_smem);
    int lane = threadIdx.x & 31;
    for (i64 r = (i64)blockIdx.x * VQ_WARPS + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * VQ_WARPS) {
        i64 rs = r * cols, re = rs + cols; /* the row's flat range */
        i64 vbeg = rs / b, vend = (re + b - 1) / b;
        float acc = 0.0f;
        for (i64 vstart = vbeg; vstart < vend; vstart += JVQ_WARP) { /* uniform across the warp */
            uint32_t code = warp_code(codes, n_code_words, bits, vstart, lane);
            i64 vv = vstart + lane;
            if (vv >= vend) continue; /* only in the last round, so no lane misses a shuffle */
            if (code >= (uint64_t)k) {
                acc = NAN;
                continue;
            }
            const uint16_t* cw = cb + (i64)code * b;
            i64 fb = vv * b;
            i64 t0 = fb < rs ? rs - fb : 0, t1 = fb + b > re ? re - fb : b;
            const float* xv = x + (fb - rs);
            for (i64 t = t0; t < t1; t++) acc += jvq_f16_to_float(cw[t]) * __ldg(xv + t);
        }
        if (nnz > 0) {
            i64 e0 = warp_lower_bound(flat_idx, nnz, rs, lane);
            i64 e1 = warp_lower_bound(flat_idx, nnz, re, lane);
            for (i64 e = e0 + lane; e < e1; e += JVQ_WARP) {
                acc += jvq_f16_to_float(__ldg(val + e)) * __ldg(x + (__ldg(flat_idx + e) - rs));
            }
        }
        acc = jvq_warp_sum(acc);
        if (lane == 0) y[r] = row_scale ? jvq_f16_to_float(__ldg(row_scale + r)) * acc : acc;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Row dequantisation into dst (nrows x cols f32) in the CPU twin's order: one warp per row writes
 * the codewords' elements (warp_code unpacking, NaN for a code >= k), adds the row's residuals, then
 * multiplies the row by its scale — dst = (R + S) * s, bit for bit what the CPU computes. __syncwarp
 * orders the three passes (a lane may touch elements another lane wrote).
 * ------------------------------------------------------------------------------------------- */

extern "C" __global__ void __launch_bounds__(VQ_WARPS * 32)
jvq_vq_dequant_rows(const uint32_t* __restrict__ codes, i64 n_code_words, int bits, const uint16_t* __restrict__ codebook,
                    i64 k, i64 b, const uint16_t* __restrict__ row_scale, const int32_t* __restrict__ flat_idx,
                    const uint16_t* __restrict__ val, i64 nnz, float* __restrict__ dst, i64 row0, i64 nrows, i64 cols,
                    int cb_in_smem) {
    const uint16_t* cb = stage_codebook(codebook, k, b, cb_in_smem);
    int lane = threadIdx.x & 31;
    for (i64 q = (i64)blockIdx.x * VQ_WARPS + (threadIdx.x >> 5); q < nrows; q += (i64)gridDim.x * VQ_WARPS) {
        i64 r = row0 + q;
        i64 rs = r * cols, re = rs + cols;
        i64 vbeg = rs / b, vend = (re + b - 1) / b;
        float* out = dst + q * cols;
        for (i64 vstart = vbeg; vstart < vend; vstart += JVQ_WARP) {
            uint32_t code = warp_code(codes, n_code_words, bits, vstart, lane);
            i64 vv = vstart + lane;
            if (vv >= vend) continue;
            bool bad = code >= (uint64_t)k;
            const uint16_t* cw = cb + (bad ? 0 : (i64)code * b);
            i64 fb = vv * b;
            i64 t0 = fb < rs ? rs - fb : 0, t1 = fb + b > re ? re - fb : b;
#pragma unroll 1 /* b is small; unrolling this runtime-bounded loop made sm_90 spill */
            for (i64 t = t0; t < t1; t++) out[fb - rs + t] = bad ? NAN : jvq_f16_to_float(cw[t]);
        }
        __syncwarp();
        if (nnz > 0) {
            i64 e0 = warp_lower_bound(flat_idx, nnz, rs, lane);
            i64 e1 = warp_lower_bound(flat_idx, nnz, re, lane);
            for (i64 e = e0 + lane; e < e1; e += JVQ_WARP) out[__ldg(flat_idx + e) - rs] += jvq_f16_to_float(__ldg(val + e));
            __syncwarp();
        }
        float s = row_scale ? jvq_f16_to_float(__ldg(row_scale + r)) : 1.0f;
        for (i64 j = lane; j < cols; j += JVQ_WARP) out[j] *= s;
        __syncwarp(); /* the next row's writes come after this row's reads */
    }
}
