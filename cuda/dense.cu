/*
 * dense.cu — dense linear algebra: y = W x (gemv), Y = X Wᵀ (gemm) for f32/f16/bf16 weights, and
 * the f32 C (+)= A B (sgemm) used when cuBLAS is not available. CPU twins: jvq_gemv, jvq_gemm,
 * jvq_sgemm in native/src.
 */
#include "common.cuh"

/* ---------------------------------------------------------------------------------------------
 * GEMV: one warp per output row (grid-stride over rows), lanes stride along the row. Decoding is
 * memory-bound, so rows whose start is 16-byte aligned are read with 16-byte loads; x is read
 * through the read-only cache, where every warp of the SM finds it. Indices within a row are 32-bit
 * (the host keeps cols below 2^31): 64-bit loop counters made ptxas spill on sm_80.
 * ------------------------------------------------------------------------------------------- */

#define GEMV_WARPS 8

__device__ __forceinline__ bool jvq_aligned16(const void* p) { return ((uintptr_t)p & 15u) == 0; }

/* Dot product of one row with x, generic over the weight type (scalar loads). */
template <class L>
__device__ __forceinline__ float gemv_row_scalar(const typename L::storage* wr, const float* x, int cols, int lane) {
    float acc = 0.0f;
    for (int j = lane; j < cols; j += JVQ_WARP) acc += L::load(wr, j) * __ldg(x + j);
    return acc;
}

extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32)
jvq_gemv_f32(const float* __restrict__ w, const float* __restrict__ x, float* __restrict__ y, i64 rows, i64 cols) {
    int lane = threadIdx.x & 31;
    bool vec = (cols & 3) == 0 && jvq_aligned16(w) && jvq_aligned16(x);
    for (i64 r = (i64)blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * GEMV_WARPS) {
        const float* wr = w + r * cols;
        float acc;
        if (vec) {
            const float4* w4 = (const float4*)wr;
            const float4* x4 = (const float4*)x;
            acc = 0.0f;
            for (int q = lane; q < (int)(cols >> 2); q += JVQ_WARP) {
                float4 a = __ldg(w4 + q), b = __ldg(x4 + q);
                acc += a.x * b.x;
                acc += a.y * b.y;
                acc += a.z * b.z;
                acc += a.w * b.w;
            }
        } else {
            acc = gemv_row_scalar<JvqLoadF32>(wr, x, (int)cols, lane);
        }
        acc = jvq_warp_sum(acc);
        if (lane == 0) y[r] = acc;
    }
}

/* 16-bit weights: 8 per 16-byte load; L::cvt is jvq_f16_to_float or jvq_bf16_to_float. */
template <class L>
__device__ __forceinline__ void gemv_16bit(const uint16_t* __restrict__ w, const float* __restrict__ x,
                                           float* __restrict__ y, i64 rows, i64 cols) {
    int lane = threadIdx.x & 31;
    bool vec = (cols & 7) == 0 && jvq_aligned16(w) && jvq_aligned16(x);
    for (i64 r = (i64)blockIdx.x * GEMV_WARPS + (threadIdx.x >> 5); r < rows; r += (i64)gridDim.x * GEMV_WARPS) {
        const uint16_t* wr = w + r * cols;
        float acc;
        if (vec) {
            const uint4* w8 = (const uint4*)wr;
            const float4* x4 = (const float4*)x;
            acc = 0.0f;
            for (int q = lane; q < (int)(cols >> 3); q += JVQ_WARP) {
                uint4 u = __ldg(w8 + q);
                float4 a = __ldg(x4 + 2 * q), b = __ldg(x4 + 2 * q + 1);
                acc += L::cvt((uint16_t)(u.x & 0xffffu)) * a.x;
                acc += L::cvt((uint16_t)(u.x >> 16)) * a.y;
                acc += L::cvt((uint16_t)(u.y & 0xffffu)) * a.z;
                acc += L::cvt((uint16_t)(u.y >> 16)) * a.w;
                acc += L::cvt((uint16_t)(u.z & 0xffffu)) * b.x;
                acc += L::cvt((uint16_t)(u.z >> 16)) * b.y;
                acc += L::cvt((uint16_t)(u.w & 0xffffu)) * b.z;
                acc += L::cvt((uint16_t)(u.w >> 16)) * b.w;
            }
        } else {
            acc = gemv_row_scalar<L>(wr, x, (int)cols, lane);
        }
        acc = jvq_warp_sum(acc);
        if (lane == 0) y[r] = acc;
    }
}

extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32)
jvq_gemv_f16(const uint16_t* __restrict__ w, const float* __restrict__ x, float* __restrict__ y, i64 rows, i64 cols) {
    gemv_16bit<JvqLoadF16>(w, x, y, rows, cols);
}

extern "C" __global__ void __launch_bounds__(GEMV_WARPS * 32)
jvq_gemv_bf16(const uint16_t* __restrict__ w, const float* __restrict__ x, float* __restrict__ y, i64 rows, i64 cols) {
    gemv_16bit<JvqLoadBF16>(w, x, y, rows, cols);
}

/* ---------------------------------------------------------------------------------------------
 * Tiled GEMM: C[M x N] (+)= A[M x K] op(B), one 64 x 64 tile of C per block of 256 threads, each
 * thread 4 x 4 outputs strided by 16 (conflict-free shared reads), K staged through shared memory
 * 16 at a time. op(B)[k][n] is B[n*K + k] when B is a weight W (rows x cols, so Y = X Wᵀ), else
 * B[k*N + n] (plain row-major B of sgemm). Weights are converted to f32 when staged.
 * Grid: x over N tiles, y over M tiles (the caller splits M above 65535 tiles).
 * ------------------------------------------------------------------------------------------- */

#define TILE_M 64
#define TILE_N 64
#define TILE_K 16
#define TILE_THREADS 256

template <class L, bool B_IS_W>
__device__ __forceinline__ void tile_gemm(const float* __restrict__ a, const typename L::storage* __restrict__ bmat,
                                          float* __restrict__ c, i64 m, i64 n, i64 k, int accumulate) {
    __shared__ float as[TILE_K][TILE_M + 1];
    __shared__ float bs[TILE_K][TILE_N + 1];
    int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    i64 m0 = (i64)blockIdx.y * TILE_M, n0 = (i64)blockIdx.x * TILE_N;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;

    for (i64 k0 = 0; k0 < k; k0 += TILE_K) {
        /* 64 x 16 elements of each operand, 4 per thread, consecutive threads along k (or n). */
#pragma unroll
        for (int r = 0; r < 4; r++) {
            int e = tid + r * TILE_THREADS;
            int mm = e >> 4, kk = e & 15;
            i64 gm = m0 + mm, gk = k0 + kk;
            as[kk][mm] = (gm < m && gk < k) ? __ldg(a + gm * k + gk) : 0.0f;
            if (B_IS_W) {
                i64 gn = n0 + mm;
                bs[kk][mm] = (gn < n && gk < k) ? L::load(bmat, gn * k + gk) : 0.0f;
            } else {
                int kb = e >> 6, nb = e & 63;
                i64 gkb = k0 + kb, gn = n0 + nb;
                bs[kb][nb] = (gkb < k && gn < n) ? L::load(bmat, gkb * n + gn) : 0.0f;
            }
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TILE_K; kk++) {
            float av[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; i++) av[i] = as[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) bv[j] = bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += av[i] * bv[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++) {
        i64 gm = m0 + ty + 16 * i;
        if (gm >= m) continue;
#pragma unroll
        for (int j = 0; j < 4; j++) {
            i64 gn = n0 + tx + 16 * j;
            if (gn >= n) continue;
            float* p = c + gm * n + gn;
            *p = accumulate ? *p + acc[i][j] : acc[i][j];
        }
    }
}

/* Y[n x rows] = X[n x cols] Wᵀ: M = n, N = rows, K = cols. */
extern "C" __global__ void __launch_bounds__(TILE_THREADS)
jvq_gemm_f32(const float* __restrict__ w, const float* __restrict__ x, float* __restrict__ y, i64 n, i64 rows, i64 cols) {
    tile_gemm<JvqLoadF32, true>(x, w, y, n, rows, cols, 0);
}

extern "C" __global__ void __launch_bounds__(TILE_THREADS)
jvq_gemm_f16(const uint16_t* __restrict__ w, const float* __restrict__ x, float* __restrict__ y, i64 n, i64 rows, i64 cols) {
    tile_gemm<JvqLoadF16, true>(x, w, y, n, rows, cols, 0);
}

extern "C" __global__ void __launch_bounds__(TILE_THREADS)
jvq_gemm_bf16(const uint16_t* __restrict__ w, const float* __restrict__ x, float* __restrict__ y, i64 n, i64 rows, i64 cols) {
    tile_gemm<JvqLoadBF16, true>(x, w, y, n, rows, cols, 0);
}

/* C[m x n] (+)= A[m x k] B[k x n]. */
extern "C" __global__ void __launch_bounds__(TILE_THREADS)
jvq_sgemm(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ c, i64 m, i64 n, i64 k, int accumulate) {
    tile_gemm<JvqLoadF32, false>(a, b, c, m, n, k, accumulate);
}
