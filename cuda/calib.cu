/*
 * calib.cu — calibration and k-means kernels: Hessian-diagonal accumulation and batched nearest-
 * centroid assignment with per-centroid sums and counts. CPU twins: jvq_hessian_diag_accumulate,
 * jvq_kmeans_assign.
 */
#include "common.cuh"

#define HESS_THREADS 256

/* h[j] += Σ_t x[t,j]² in float64. Threads along j (coalesced rows of x); blockIdx.y takes a chunk
 * of `tokens_per_chunk` tokens. With one chunk the add is a plain read-modify-write; with several,
 * the chunk sums meet in h through double-precision atomics. */
extern "C" __global__ void __launch_bounds__(HESS_THREADS)
jvq_hessian_diag_accumulate(double* __restrict__ h, const float* __restrict__ x, i64 n_tokens, i64 d,
                            i64 tokens_per_chunk) {
    i64 j = (i64)blockIdx.x * HESS_THREADS + threadIdx.x;
    if (j >= d) return;
    i64 t0 = (i64)blockIdx.y * tokens_per_chunk;
    i64 t1 = min(n_tokens, t0 + tokens_per_chunk);
    double acc = 0.0;
    for (i64 t = t0; t < t1; t++) {
        double xv = (double)__ldg(x + t * d + j);
        acc += xv * xv;
    }
    if (gridDim.y == 1) {
        h[j] += acc;
    } else {
        atomicAdd(h + j, acc);
    }
}

#define KM_THREADS 256

/*
 * Nearest centroid (squared Euclidean, jvq_sqdist; ties to the lowest index) for each of m vectors
 * of length b: one thread per vector. The centroids pass through dynamic shared memory in tiles of
 * `tile_k` centroids (tile_k * b floats). Vectors of B_FIXED floats (the common block sizes) are held
 * in registers; other lengths are read from global memory (L1-cached).
 * Outputs: idx[i]; dist2[i] if not NULL; sums[idx*b + t] += v[i,t] (float64) and counts[idx] += 1
 * when both are not NULL (atomics: many vectors share a centroid).
 */
template <int B_FIXED>
__device__ __forceinline__ void kmeans_assign(const float* __restrict__ v, i64 m, const float* __restrict__ c, i64 k,
                                              i64 b, int32_t* __restrict__ idx, float* __restrict__ dist2,
                                              double* __restrict__ sums, long long* __restrict__ counts, i64 tile_k) {
    extern __shared__ float cs[];
    i64 i = (i64)blockIdx.x * KM_THREADS + threadIdx.x;
    bool live = i < m;
    const int bb = B_FIXED > 0 ? B_FIXED : 1;
    float vr[bb];
    const float* vi = v + (live ? i : 0) * b;
    if (B_FIXED > 0) {
#pragma unroll
        for (int t = 0; t < bb; t++) vr[t] = live ? __ldg(vi + t) : 0.0f;
    }
    float best = INFINITY;
    i64 best_c = 0;
    for (i64 c0 = 0; c0 < k; c0 += tile_k) {
        i64 nk = min(tile_k, k - c0);
        __syncthreads();
        for (i64 e = threadIdx.x; e < nk * b; e += KM_THREADS) cs[e] = __ldg(c + c0 * b + e);
        __syncthreads();
        if (!live) continue;
        for (i64 cc = 0; cc < nk; cc++) {
            float dd = B_FIXED > 0 ? jvq_sqdist(vr, cs + cc * B_FIXED, B_FIXED) : jvq_sqdist(vi, cs + cc * b, b);
            if (dd < best) {
                best = dd;
                best_c = c0 + cc;
            }
        }
    }
    if (!live) return;
    idx[i] = (int32_t)best_c;
    if (dist2) dist2[i] = best;
    if (sums && counts) {
        if (B_FIXED > 0) {
#pragma unroll
            for (int t = 0; t < bb; t++) atomicAdd(sums + best_c * bb + t, (double)vr[t]);
        } else {
            for (i64 t = 0; t < b; t++) atomicAdd(sums + best_c * b + t, (double)__ldg(vi + t));
        }
        atomicAdd((unsigned long long*)(counts + best_c), 1ull);
    }
}

extern "C" __global__ void __launch_bounds__(KM_THREADS)
jvq_kmeans_assign(const float* __restrict__ v, i64 m, const float* __restrict__ c, i64 k, i64 b,
                  int32_t* __restrict__ idx, float* __restrict__ dist2, double* __restrict__ sums,
                  long long* __restrict__ counts, i64 tile_k) {
    switch (b) {
    case 1: kmeans_assign<1>(v, m, c, k, b, idx, dist2, sums, counts, tile_k); break;
    case 2: kmeans_assign<2>(v, m, c, k, b, idx, dist2, sums, counts, tile_k); break;
    case 4: kmeans_assign<4>(v, m, c, k, b, idx, dist2, sums, counts, tile_k); break;
    case 8: kmeans_assign<8>(v, m, c, k, b, idx, dist2, sums, counts, tile_k); break;
    default: kmeans_assign<0>(v, m, c, k, b, idx, dist2, sums, counts, tile_k); break;
    }
}
