/*
 * elementwise.cu — the transformer's element-wise kernels: rmsnorm, softmax, rotary embedding,
 * silu·up and the residual add. CPU twins: jvq_rmsnorm, jvq_softmax, jvq_rope, jvq_silu_mul, jvq_add.
 */
#include "common.cuh"

#define ROW_THREADS 256

/* out[i,:] = x[i,:] * inv_rms(x[i,:]) * w: one block per row (grid-stride over rows). out may be x:
 * each element is read and written by the same thread, after the row's reduction. */
extern "C" __global__ void __launch_bounds__(ROW_THREADS)
jvq_rmsnorm(float* out, const float* x, const float* __restrict__ w, i64 n, i64 dim, float eps) {
    __shared__ float scratch[32];
    for (i64 r = blockIdx.x; r < n; r += gridDim.x) {
        const float* xr = x + r * dim;
        float* orow = out + r * dim;
        float ss = 0.0f;
        for (i64 j = threadIdx.x; j < dim; j += blockDim.x) ss += xr[j] * xr[j];
        ss = jvq_block_sum(ss, scratch);
        float inv = jvq_rmsnorm_inv_rms(ss, dim, eps);
        for (i64 j = threadIdx.x; j < dim; j += blockDim.x) orow[j] = xr[j] * inv * __ldg(w + j);
    }
}

/* In-place softmax of each row: max-subtracted exponentials over their sum. One block per row. */
extern "C" __global__ void __launch_bounds__(ROW_THREADS)
jvq_softmax(float* x, i64 n, i64 len) {
    __shared__ float scratch[32];
    for (i64 r = blockIdx.x; r < n; r += gridDim.x) {
        float* xr = x + r * len;
        float mx = -INFINITY;
        for (i64 j = threadIdx.x; j < len; j += blockDim.x) mx = fmaxf(mx, xr[j]);
        mx = jvq_block_max(mx, scratch);
        float sum = 0.0f;
        for (i64 j = threadIdx.x; j < len; j += blockDim.x) {
            float e = expf(xr[j] - mx);
            xr[j] = e;
            sum += e;
        }
        sum = jvq_block_sum(sum, scratch);
        float inv = 1.0f / sum;
        for (i64 j = threadIdx.x; j < len; j += blockDim.x) xr[j] *= inv;
    }
}

/* Rotary embedding in place: one thread per rotated pair of x[n_tokens x n_heads x head_dim].
 * style 0 (interleaved) pairs (2i, 2i+1), style 1 (halves) pairs (i, i + head_dim/2). */
extern "C" __global__ void
jvq_rope(float* x, i64 n_tokens, i64 n_heads, i64 head_dim, const int32_t* __restrict__ pos,
         const float* __restrict__ inv_freq, int style) {
    i64 half = head_dim / 2;
    i64 pairs = n_tokens * n_heads * half;
    for (i64 e = jvq_tid(); e < pairs; e += jvq_stride()) {
        i64 p = e % half, th = e / half, t = th / n_heads;
        float ang = jvq_rope_angle(__ldg(pos + t), __ldg(inv_freq + p));
        float c = cosf(ang), s = sinf(ang); /* as the CPU twin computes them */
        float* base = x + th * head_dim;
        float* a = style == 0 ? base + 2 * p : base + p;
        float* b = style == 0 ? base + 2 * p + 1 : base + p + half;
        jvq_rope_rotate(a, b, c, s);
    }
}

/* gate[i] = silu(gate[i]) * up[i]. */
extern "C" __global__ void
jvq_silu_mul(float* gate, const float* __restrict__ up, i64 n) {
    for (i64 i = jvq_tid(); i < n; i += jvq_stride()) gate[i] = jvq_silu(gate[i]) * __ldg(up + i);
}

/* x[i] += y[i]. */
extern "C" __global__ void
jvq_add(float* x, const float* __restrict__ y, i64 n) {
    for (i64 i = jvq_tid(); i < n; i += jvq_stride()) x[i] += __ldg(y + i);
}
