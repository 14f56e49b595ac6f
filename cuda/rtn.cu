/*
 * rtn.cu — the RTN kernels: fused RTN-dequant GEMV and row dequantisation. CPU twins:
 * jvq_rtn_gemv, jvq_rtn_dequant_rows (native/src/rtn.c; layout in jvq.h and FORMAT.md). Codes u are
 * unsigned `bits` wide (2..8), packed LSB-first row-major over the rows x cols matrix; each row has
 * gpr groups of g columns with an f16 scale s (and an f16 minimum lo when asymmetric):
 *   symmetric w = s * (u - (2^(bits-1) - 1)),  asymmetric w = lo + u * s.
 */
#include "common.cuh"

#define RTN_WARPS 8 /* rows per 256-thread block: one warp per row */

/* One weight, rounded exactly as the CPU twin's dequantisation: product, then sum, never fused. */
__device__ __forceinline__ float rtn_weight(const uint8_t* __restrict__ codes, int bits, int symmetric,
                                           const uint16_t* __restrict__ scales, const uint16_t* __restrict__ zeros,
                                           i64 gi, i64 f) {
    int u = (int)jvq_read_code(codes, f, bits);
    float s = jvq_f16_to_float(__ldg(scales + gi));
    if (symmetric) return __fmul_rn(s, (float)(u - ((1 << (bits - 1)) - 1)));
    return __fadd_rn(jvq_f16_to_float(__ldg(zeros + gi)), __fmul_rn((float)u, s));
}

/* y[r] = sum_j w[r, j] x[j]: a warp per row, lanes striding the columns, then a warp sum. */
extern "C" __global__ void
jvq_rtn_gemv(const uint8_t* __restrict__ codes, int bits, i64 group, int symmetric, const uint16_t* __restrict__ scales,
             const uint16_t* __restrict__ zeros, const float* __restrict__ x, float* __restrict__ y, i64 rows, i64 cols) {
    int lane = threadIdx.x & 31;
    i64 g = group == 0 ? cols : group;
    i64 gpr = (cols + g - 1) / g;
    for (i64 r = (i64)blockIdx.x * RTN_WARPS + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * RTN_WARPS) {
        float acc = 0.0f;
        for (i64 j = lane; j < cols; j += JVQ_WARP) {
            acc += rtn_weight(codes, bits, symmetric, scales, zeros, r * gpr + j / g, r * cols + j) * __ldg(x + j);
        }
        acc = jvq_warp_sum(acc);
        if (lane == 0) y[r] = acc;
    }
}

/* dst[q, j] = w[row0 + q, j] for q < nrows: one thread per element, grid-stride. */
extern "C" __global__ void
jvq_rtn_dequant_rows(const uint8_t* __restrict__ codes, int bits, i64 group, int symmetric,
                     const uint16_t* __restrict__ scales, const uint16_t* __restrict__ zeros, float* __restrict__ dst,
                     i64 row0, i64 nrows, i64 cols) {
    i64 g = group == 0 ? cols : group;
    i64 gpr = (cols + g - 1) / g;
    for (i64 e = jvq_tid(); e < nrows * cols; e += jvq_stride()) {
        i64 q = e / cols, j = e - q * cols, r = row0 + q;
        dst[e] = rtn_weight(codes, bits, symmetric, scales, zeros, r * gpr + j / g, r * cols + j);
    }
}
