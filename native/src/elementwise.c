/* Transformer element-wise kernels: rmsnorm, softmax, rotary embedding, SwiGLU gate, residual add.
 * Rows (or tokens) are spread over threads; each row's arithmetic is the same whatever the thread
 * count, so results do not depend on it. Small inputs (jvq_threads_for_elements) stay on the calling
 * thread. */
#include <math.h>
#include "jvq_cpu.h"

void jvq_rmsnorm(float* out, const float* x, const float* w, int64_t n, int64_t dim, float eps) {
    int nt = jvq_threads_for_elements(n * dim);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; i++) {
        const float* xr = x + i * dim;
        float* orow = out + i * dim;
        float inv = jvq_rmsnorm_inv_rms(jvq_dot_f32(xr, xr, dim), dim, eps);
        int64_t j = 0;
#ifdef JVQ_AVX2
        __m256 vi = _mm256_set1_ps(inv);
        for (; j + 8 <= dim; j += 8) {
            __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(xr + j), vi), _mm256_loadu_ps(w + j));
            _mm256_storeu_ps(orow + j, v);
        }
#endif
        for (; j < dim; j++) orow[j] = xr[j] * inv * w[j];
    }
}

void jvq_softmax(float* x, int64_t n, int64_t len) {
    int nt = jvq_threads_for_elements(n * len);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; i++) {
        float* r = x + i * len;
        float mx = -INFINITY;
        for (int64_t j = 0; j < len; j++) mx = r[j] > mx ? r[j] : mx;
        float sum = 0.0f;
        for (int64_t j = 0; j < len; j++) {
            r[j] = expf(r[j] - mx);
            sum += r[j];
        }
        jvq_scale_f32(r, 1.0f / sum, len);
    }
}

void jvq_rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, const int32_t* pos,
              const float* inv_freq, int32_t style) {
    int64_t half = head_dim / 2;
    /* Pair i of a head is (i*step_a, i*step_a + offset_b): interleaved (2i, 2i+1), halves (i, i+half). */
    int64_t stride = style == JVQ_ROPE_HALVES ? 1 : 2;
    int64_t partner = style == JVQ_ROPE_HALVES ? half : 1;
    int nt = jvq_threads_for_elements(n_tokens * n_heads * head_dim);
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t t = 0; t < n_tokens; t++) {
        float* xt = x + t * n_heads * head_dim;
        for (int64_t i = 0; i < half; i++) {
            /* One angle per (token, pair), shared by every head. */
            float angle = jvq_rope_angle(pos[t], inv_freq[i]);
            float c = cosf(angle), s = sinf(angle);
            for (int64_t h = 0; h < n_heads; h++) {
                float* a = xt + h * head_dim + i * stride;
                jvq_rope_rotate(a, a + partner, c, s);
            }
        }
    }
}

void jvq_silu_mul(float* gate, const float* up, int64_t n) {
    int nt = jvq_threads_for_elements(n);
#pragma omp parallel for simd schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; i++) gate[i] = jvq_silu(gate[i]) * up[i];
}

void jvq_add(float* x, const float* y, int64_t n) {
    int nt = jvq_threads_for_elements(n);
#pragma omp parallel for simd schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t i = 0; i < n; i++) x[i] += y[i];
}
