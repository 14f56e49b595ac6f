/* Causal grouped-query attention, one (query, head) pair per task. Keys are visited in blocks of
 * ATT_BLOCK with an online softmax (running maximum m, running sum l, output rescaled when m grows),
 * so no score buffer proportional to the context is needed and nothing is allocated. */
#include <math.h>
#include "jvq_cpu.h"

#define ATT_BLOCK 64

void jvq_attention(float* out, const float* q, const float* k, const float* v, int64_t n_q, int64_t q_pos0,
                   int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale) {
    int64_t group = n_heads / n_kv_heads;
    int64_t kv_stride = n_kv_heads * head_dim;
    int64_t ctx = q_pos0 + n_q;
    int nt = jvq_threads_for(n_q * n_heads * ctx * head_dim * 2);
#pragma omp parallel for collapse(2) schedule(dynamic, 1) num_threads(nt) if (nt > 1)
    for (int64_t t = 0; t < n_q; t++) {
        for (int64_t h = 0; h < n_heads; h++) {
            const float* qv = q + (t * n_heads + h) * head_dim;
            float* o = out + (t * n_heads + h) * head_dim;
            const float* kg = k + (h / group) * head_dim;
            const float* vg = v + (h / group) * head_dim;
            int64_t len = q_pos0 + t + 1; /* keys 0 .. q_pos0 + t */
            float m = -INFINITY, l = 0.0f;
            float s[ATT_BLOCK];
            for (int64_t d = 0; d < head_dim; d++) o[d] = 0.0f;
            for (int64_t j0 = 0; j0 < len; j0 += ATT_BLOCK) {
                int64_t bn = len - j0 < ATT_BLOCK ? len - j0 : ATT_BLOCK;
                float bm = -INFINITY;
                for (int64_t jj = 0; jj < bn; jj++) {
                    s[jj] = scale * jvq_dot_f32(qv, kg + (j0 + jj) * kv_stride, head_dim);
                    bm = s[jj] > bm ? s[jj] : bm;
                }
                if (bm > m) {
                    /* First block: m = -inf, nothing accumulated yet, no rescale needed. */
                    if (m != -INFINITY) {
                        float f = expf(m - bm);
                        l *= f;
                        jvq_scale_f32(o, f, head_dim);
                    }
                    m = bm;
                }
                for (int64_t jj = 0; jj < bn; jj++) {
                    float p = expf(s[jj] - m);
                    l += p;
                    jvq_axpy_f32(o, p, vg + (j0 + jj) * kv_stride, head_dim);
                }
            }
            jvq_scale_f32(o, 1.0f / l, head_dim);
        }
    }
}
