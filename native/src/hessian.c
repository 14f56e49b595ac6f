/* Hessian-diagonal accumulation h[j] += Σ_t x[t,j]² in float64. Threads own disjoint column ranges
 * and every column is summed over t in order, so the result is bit-identical for any thread count.
 * (x² of an f32 is exact in f64, so fused and unfused multiply-adds agree too.) */
#include <omp.h>
#include "jvq_cpu.h"

/* Columns per stack accumulator block: 2 KiB of doubles stay in L1 while the rows stream past. */
#define HESS_BLOCK 256

void jvq_hessian_diag_accumulate(double* h, const float* x, int64_t n_tokens, int64_t d) {
    if (n_tokens <= 0 || d <= 0) return;
    int64_t blocks = (d + HESS_BLOCK - 1) / HESS_BLOCK;
    int nt = jvq_threads_for(n_tokens * d);
    if (nt > blocks) nt = (int)blocks;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1)
    for (int64_t blk = 0; blk < blocks; blk++) {
        int64_t c0 = blk * HESS_BLOCK;
        int64_t w = d - c0 < HESS_BLOCK ? d - c0 : HESS_BLOCK;
        double acc[HESS_BLOCK];
        for (int64_t j = 0; j < w; j++) acc[j] = h[c0 + j];
        for (int64_t t = 0; t < n_tokens; t++) {
            const float* xr = x + t * d + c0;
            int64_t j = 0;
#ifdef JVQ_AVX2
            for (; j + 4 <= w; j += 4) {
                __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(xr + j));
                _mm256_storeu_pd(acc + j, _mm256_fmadd_pd(v, v, _mm256_loadu_pd(acc + j)));
            }
#endif
            for (; j < w; j++) acc[j] += (double)xr[j] * (double)xr[j];
        }
        for (int64_t j = 0; j < w; j++) h[c0 + j] = acc[j];
    }
}
