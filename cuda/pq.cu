/*
 * pq.cu — the RSAVQ (PQ) kernels: the fused PQ-dequant GEMV and row dequantisation. CPU twins:
 * jvq_pq_gemv, jvq_pq_dequant_rows (native/src/pq.c). Layout (jvq.h, dev.jvq.quant.RsavqLinear):
 *   W[r, perm[j]] = s_r * CB_g[(t mod S) * k + code_g(j, t)][r - t * L],  t = r / L,
 * codes of group g column-major: code (j - col0) * T + t, T = ceil(rows / L).
 *
 * The host launches each kernel once per group (groups are few), so the device needs no arrays of
 * pointers: the GEMV accumulates the groups' partial sums in a device buffer `acc` (T * L floats) in
 * group order — deterministic, no atomics — and the last group's launch applies the row scale.
 */
#include "common.cuh"

#define PQ_WARPS 8

/* Per-warp code unpacking: lane l gets code vstart + l of a `bits`-wide (<= 24) LSB-first stream
 * read as 32-bit words. The 32 codes span at most bits + 1 words; lanes 0..bits load one word each
 * (one coalesced load) and every lane takes the two words holding its code by shuffles. Words at
 * or past n_words read as zero. All 32 lanes must call it with the same vstart. */
__device__ __forceinline__ uint32_t pq_warp_code(const uint32_t* __restrict__ codes, i64 n_words, int bits,
                                                 i64 vstart, int lane) {
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
 * GEMV, one group: block b owns the 32 sub-vectors [32b, 32b + 32) (lane = sub-vector); its 8 warps
 * take the group's columns round-robin, each lane adding x[perm[j]] * codeword into the warp's own
 * shared-memory partial sums (lane-private, so no races). The block then adds the 8 warps' sums in
 * warp order to the running total in acc (zero for the first group) and, for the last group, writes
 * y = s * total. The group's f16 codebook is staged in shared memory after the partial sums when the
 * host says it fits (cb_in_smem), else read through __ldg. A code >= k reads NaN, as on the CPU.
 * Dynamic shared memory: PQ_WARPS * 32 * L floats, then (if staged) S * k * L f16.
 * ------------------------------------------------------------------------------------------- */
extern "C" __global__ void __launch_bounds__(PQ_WARPS * 32)
jvq_pq_gemv_group(const uint32_t* __restrict__ codes, i64 n_code_words, int bits, const uint16_t* __restrict__ codebook,
                  i64 k, int sub_len, int subspaces, const int32_t* __restrict__ perm, i64 col0, i64 col1, i64 T,
                  const float* __restrict__ x, float* __restrict__ acc, int first, int last,
                  const uint16_t* __restrict__ row_scale, float* __restrict__ y, i64 rows, int cb_in_smem) {
    extern __shared__ float pq_smem[];
    const int L = sub_len, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    float* part = pq_smem + warp * 32 * L; /* this warp's 32 sub-vectors x L partial sums */
    const uint16_t* cb = codebook;
    if (cb_in_smem) {
        uint16_t* staged = (uint16_t*)(pq_smem + PQ_WARPS * 32 * L);
        for (i64 e = threadIdx.x; e < (i64)subspaces * k * L; e += blockDim.x) staged[e] = __ldg(codebook + e);
        cb = staged;
    }
    for (int e = lane; e < 32 * L; e += 32) part[e] = 0.0f;
    __syncthreads();
    const i64 tile0 = (i64)blockIdx.x * 32, t = tile0 + lane;
    const i64 table_base = (t % subspaces) * k;
    for (i64 j = col0 + warp; j < col1; j += PQ_WARPS) { /* uniform across the warp */
        uint32_t code = pq_warp_code(codes, n_code_words, bits, (j - col0) * T + tile0, lane);
        if (t >= T) continue;
        float xj = __ldg(x + __ldg(perm + j));
        float* a = part + lane * L;
        if (code >= (uint64_t)k) {
            for (int d = 0; d < L; d++) a[d] = NAN;
            continue;
        }
        const uint16_t* w = cb + (table_base + (i64)code) * L;
#pragma unroll 1
        for (int d = 0; d < L; d++) a[d] = fmaf(xj, jvq_f16_to_float(w[d]), a[d]);
    }
    __syncthreads();
    for (int e = threadIdx.x; e < 32 * L; e += blockDim.x) {
        i64 r = tile0 * L + e; /* element e of the tile is row tile0 * L + e */
        if (r >= T * L) continue;
        float s = first ? 0.0f : acc[r];
        for (int w = 0; w < PQ_WARPS; w++) s += pq_smem[w * 32 * L + e];
        if (!last) {
            acc[r] = s;
        } else if (r < rows) {
            y[r] = row_scale ? jvq_f16_to_float(__ldg(row_scale + r)) * s : s;
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Row dequantisation, one group: one thread per (row, stored column) of rows [row0, row0 + nrows)
 * and the group's columns, rows fastest so neighbouring threads read neighbouring codes. Writes
 * dst[(r - row0) * cols + perm[j]] = value * s_r (value alone without scales), as the CPU twin.
 * ------------------------------------------------------------------------------------------- */
extern "C" __global__ void
jvq_pq_dequant_rows_group(const uint8_t* __restrict__ codes, int bits, const uint16_t* __restrict__ codebook, i64 k,
                          int sub_len, int subspaces, const int32_t* __restrict__ perm, i64 col0, i64 col1, i64 T,
                          const uint16_t* __restrict__ row_scale, float* __restrict__ dst, i64 row0, i64 nrows,
                          i64 cols) {
    const i64 n = nrows * (col1 - col0);
    for (i64 e = jvq_tid(); e < n; e += jvq_stride()) {
        i64 q = e % nrows, j = col0 + e / nrows;
        i64 r = row0 + q, t = r / sub_len;
        int d = (int)(r - t * sub_len);
        i64 word = jvq_pq_word(codes, bits, k, sub_len, subspaces, j - col0, T, t);
        float v = jvq_pq_value_f16(codebook, word, d);
        dst[q * cols + __ldg(perm + j)] = row_scale ? v * jvq_f16_to_float(__ldg(row_scale + r)) : v;
    }
}
