/*
 * attention.cu — causal grouped-query attention over K/V caches. CPU twin: jvq_attention.
 *
 * One block of ATT_THREADS per (query t, head h); query t sits at absolute position q_pos0 + t and
 * attends to positions 0 .. q_pos0 + t of KV head g = h / (n_heads / n_kv_heads):
 *   1. q is staged in shared memory; each warp takes whole keys (lanes along head_dim, coalesced),
 *      score_j = scale * q·k_j;
 *   2. the scores are turned into max-subtracted exponentials and summed (block reductions);
 *   3. out = Σ_j e_j v_j / Σ_j e_j, threads along head_dim (coalesced V reads); when head_dim is
 *      small the block is split into groups that take interleaved j and are summed at the end.
 * The scores live in dynamic shared memory after q, or, when a row of kv_len scores would not fit,
 * in `scores_global` (n_q * n_heads rows of kv_len floats, passed by the caller; NULL otherwise).
 * Dynamic shared memory: (head_dim + (scores_global ? 0 : kv_len)) floats, kv_len = q_pos0 + n_q.
 */
#include "common.cuh"

#define ATT_THREADS 128
#define ATT_WARPS (ATT_THREADS / 32)

extern "C" __global__ void __launch_bounds__(ATT_THREADS)
jvq_attention(float* __restrict__ out, const float* __restrict__ q, const float* __restrict__ k,
              const float* __restrict__ v, i64 n_q, i64 q_pos0, i64 n_heads, i64 n_kv_heads, i64 head_dim,
              float scale, float* __restrict__ scores_global) {
    extern __shared__ float smem[];
    __shared__ float scratch[32];
    __shared__ float partial[ATT_THREADS];

    i64 t = blockIdx.x / n_heads, h = blockIdx.x % n_heads;
    i64 g = h / (n_heads / n_kv_heads);
    i64 kv_len = q_pos0 + n_q;
    i64 len = q_pos0 + t + 1; /* causal: positions 0 .. q_pos0 + t */
    i64 kv_stride = n_kv_heads * head_dim;
    const float* qv = q + (t * n_heads + h) * head_dim;
    const float* kb = k + g * head_dim;
    const float* vb = v + g * head_dim;
    float* qs = smem;
    float* s = scores_global ? scores_global + (i64)blockIdx.x * kv_len : smem + head_dim;
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

    for (i64 d = threadIdx.x; d < head_dim; d += ATT_THREADS) qs[d] = qv[d];
    __syncthreads();

    /* 1. scores, and each lane's running maximum */
    float mx = -INFINITY;
    for (i64 j = warp; j < len; j += ATT_WARPS) {
        const float* kj = kb + j * kv_stride;
        float dot = 0.0f;
        for (i64 d = lane; d < head_dim; d += JVQ_WARP) dot += qs[d] * __ldg(kj + d);
        dot = jvq_warp_sum(dot) * scale;
        if (lane == 0) s[j] = dot;
        mx = fmaxf(mx, dot);
    }
    mx = jvq_block_max(mx, scratch); /* starts with a barrier: the scores are visible after it */

    /* 2. exponentials and their sum */
    float sum = 0.0f;
    for (i64 j = threadIdx.x; j < len; j += ATT_THREADS) {
        float e = expf(s[j] - mx);
        s[j] = e;
        sum += e;
    }
    sum = jvq_block_sum(sum, scratch); /* its barriers also publish the exponentials */
    float inv = 1.0f / sum;

    /* 3. weighted sum of V rows */
    float* o = out + (t * n_heads + h) * head_dim;
    if (head_dim <= ATT_THREADS / 2) {
        int groups = (int)(ATT_THREADS / head_dim);
        int gi = (int)(threadIdx.x / head_dim);
        i64 d = threadIdx.x % head_dim;
        float acc = 0.0f;
        if (gi < groups) {
            for (i64 j = gi; j < len; j += groups) acc += s[j] * __ldg(vb + j * kv_stride + d);
        }
        partial[threadIdx.x] = acc;
        __syncthreads();
        if (threadIdx.x < head_dim) {
            float tot = 0.0f;
            for (int gg = 0; gg < groups; gg++) tot += partial[gg * head_dim + threadIdx.x];
            o[threadIdx.x] = tot * inv;
        }
    } else {
        for (i64 d = threadIdx.x; d < head_dim; d += ATT_THREADS) {
            float acc = 0.0f;
            for (i64 j = 0; j < len; j++) acc += s[j] * __ldg(vb + j * kv_stride + d);
            o[d] = acc * inv;
        }
    }
}
