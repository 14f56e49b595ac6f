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
        float s = jvq_f16_to_float(__ldg(val + e));
        if (row_scale) s *= jvq_f16_to_float(__ldg(row_scale + r));
        dst[(r - row0) * cols + (f - r * cols)] += s;
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

/* ---------------------------------------------------------------------------------------------
 * Fused VQ-dequant GEMV: one warp per row (grid-stride; blocks are few and persistent so the
 * codebook is staged into shared memory once per block, not once per row).
 *
 * Per-warp code unpacking: the warp takes the row's vectors 32 at a time, lane l owning vector
 * vstart + l. The codes of those 32 vectors span at most bits + 1 consecutive 32-bit words of the
 * stream; lanes 0..bits load one word each (one coalesced load), and each lane fetches the two
 * words holding its code with shuffles. A vector's elements that belong to the row are multiplied
 * with x; the row's residuals (found with warp_lower_bound) are added in the same pass; the row
 * scale is applied once, to the warp's sum.
 * ------------------------------------------------------------------------------------------- */

#define VQ_WARPS 8

extern "C" __global__ void __launch_bounds__(VQ_WARPS * 32)
jvq_vq_gemv(const uint32_t* __restrict__ codes, i64 n_code_words, int bits, const uint16_t* __restrict__ codebook,
            i64 k, i64 b, const uint16_t* __restrict__ row_scale, const int32_t* __restrict__ flat_idx,
            const uint16_t* __restrict__ val, i64 nnz, const float* __restrict__ x, float* __restrict__ y,
            i64 rows, i64 cols, int cb_in_smem) {
    const uint16_t* cb = stage_codebook(codebook, k, b, cb_in_smem);
    int lane = threadIdx.x & 31;
    uint32_t mask = bits >= 32 ? 0xffffffffu : ((1u << bits) - 1u);
    for (i64 r = (i64)blockIdx.x * VQ_WARPS + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * VQ_WARPS) {
        i64 rs = r * cols, re = rs + cols; /* the row's flat range */
        i64 vbeg = rs / b, vend = (re + b - 1) / b;
        float acc = 0.0f;
        for (i64 vstart = vbeg; vstart < vend; vstart += JVQ_WARP) {
            uint64_t bit0 = (uint64_t)vstart * (uint64_t)bits;
            i64 w0 = (i64)(bit0 >> 5);
            uint32_t word = (lane <= bits && w0 + lane < n_code_words) ? __ldg(codes + w0 + lane) : 0u;
            uint32_t rel = (uint32_t)(bit0 & 31u) + (uint32_t)lane * (uint32_t)bits;
            int q = (int)(rel >> 5);
            uint32_t lo = __shfl_sync(JVQ_FULL_MASK, word, q & 31);
            uint32_t hi = __shfl_sync(JVQ_FULL_MASK, word, (q + 1) & 31);
            i64 vv = vstart + lane;
            if (vv >= vend) continue;
            uint32_t code = (uint32_t)((((uint64_t)hi << 32) | lo) >> (rel & 31u)) & mask;
            if (code >= (uint64_t)k) code = (uint32_t)(k - 1); /* never read outside the codebook */
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
 * Row dequantisation into dst (nrows x cols f32): one thread per vector touching rows
 * [row0, row0 + nrows), writing s_row * C[code][t] for each of its elements in the range (the code is
 * read with jvq_read_code, which relies on the stream's 8 zero bytes of padding). The residuals are
 * then added by jvq_sparse_scatter with the row scales, as the CPU twin does.
 * ------------------------------------------------------------------------------------------- */

#define DQ_THREADS 256

extern "C" __global__ void __launch_bounds__(DQ_THREADS)
jvq_vq_dequant_rows(const uint8_t* __restrict__ codes, int bits, const uint16_t* __restrict__ codebook, i64 k, i64 b,
                    const uint16_t* __restrict__ row_scale, float* __restrict__ dst, i64 row0, i64 nrows, i64 cols,
                    int cb_in_smem) {
    const uint16_t* cb = stage_codebook(codebook, k, b, cb_in_smem);
    i64 fs = row0 * cols, fe = fs + nrows * cols; /* flat range of the rows */
    i64 vbeg = fs / b, vend = (fe + b - 1) / b;
    for (i64 vv = vbeg + jvq_tid(); vv < vend; vv += jvq_stride()) {
        uint32_t code = jvq_read_code(codes, vv, bits);
        if (code >= (uint64_t)k) code = (uint32_t)(k - 1);
        const uint16_t* cw = cb + (i64)code * b;
        i64 fb = vv * b;
        i64 t0 = fb < fs ? fs - fb : 0, t1 = fb + b > fe ? fe - fb : b;
        i64 r = (fb + t0) / cols;
        i64 rend = (r + 1) * cols; /* the vector may run into the next row */
        float s = row_scale ? jvq_f16_to_float(__ldg(row_scale + r)) : 1.0f;
        for (i64 t = t0; t < t1; t++) {
            i64 f = fb + t;
            if (f >= rend) {
                r++;
                rend += cols;
                s = row_scale ? jvq_f16_to_float(__ldg(row_scale + r)) : 1.0f;
            }
            dst[f - fs] = s * jvq_f16_to_float(cw[t]);
        }
    }
}
