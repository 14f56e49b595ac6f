/* Batched k-means assignment: the nearest of k centroids for each of m vectors of length b.
 *
 * Distances are computed directly, Σ_d (v_d - c_d)², in f32 — not through ||v||² - 2v·c + ||c||²,
 * whose cancellation would misorder close centroids. The loop is vectorised across centroids: a
 * block of centroids is transposed (dimension-major) into a stack buffer, and each vector is compared
 * with 8 centroids per AVX2 instruction (16 per AVX-512 one), keeping a per-lane running minimum and its index. Ties go to
 * the lowest index (strict < within a lane, lowest index across lanes, earlier blocks first).
 *
 * Pass 2 adds the vectors into sums/counts. Threads own disjoint centroid ranges and visit vectors in
 * index order, so every sum is added in the same order whatever the thread count: the result is
 * bit-identical for 1 or N threads, with no atomics. */
#include <math.h>
#include <omp.h>
#include "jvq_cpu.h"

#define KM_TILE 64            /* vectors per tile: their running minima stay in L1 */
#define KM_BLOCK_FLOATS 4096  /* transposed centroid block on the stack (16 KiB) */
#define KM_MAX_TRANSPOSED_B 64 /* above this, blocks would be too narrow: direct dot products instead */

/* Keeps (best, besti) when (d, i) is not strictly closer. */
static inline void km_offer(float d, int32_t i, float* best, int32_t* besti) {
    if (d < *best) {
        *best = d;
        *besti = i;
    }
}

#ifdef JVQ_AVX2
/* Running minimum of one vector against the nb centroids (a multiple of 8) of a transposed block ct
 * [B][nb], whose first centroid has index k0. B is a compile-time constant where it is 2, 4 or 8. */
static inline __attribute__((always_inline)) void km_block_avx2(const float* vec, const float* ct, int64_t nb,
                                                                int64_t B, int32_t k0, float* best,
                                                                int32_t* besti) {
    __m256 bestv = _mm256_set1_ps(INFINITY);
    __m256i bestiv = _mm256_setzero_si256();
    __m256i idxv = _mm256_setr_epi32(k0, k0 + 1, k0 + 2, k0 + 3, k0 + 4, k0 + 5, k0 + 6, k0 + 7);
    const __m256i eight = _mm256_set1_epi32(8);
    for (int64_t g = 0; g < nb; g += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (int64_t d = 0; d < B; d++) {
            __m256 diff = _mm256_sub_ps(_mm256_set1_ps(vec[d]), _mm256_load_ps(ct + d * nb + g));
            acc = _mm256_fmadd_ps(diff, diff, acc);
        }
        __m256 lt = _mm256_cmp_ps(acc, bestv, _CMP_LT_OQ);
        bestv = _mm256_blendv_ps(bestv, acc, lt);
        bestiv = _mm256_blendv_epi8(bestiv, idxv, _mm256_castps_si256(lt));
        idxv = _mm256_add_epi32(idxv, eight);
    }
    _Alignas(32) float bd[8];
    _Alignas(32) int32_t bi[8];
    _mm256_store_ps(bd, bestv);
    _mm256_store_si256((__m256i*)bi, bestiv);
    /* Lane minima in index order within the block: lowest index wins ties. */
    float blk = INFINITY;
    int32_t blki = 0;
    for (int t = 0; t < 8; t++) {
        if (bd[t] < blk || (bd[t] == blk && bi[t] < blki)) {
            blk = bd[t];
            blki = bi[t];
        }
    }
    km_offer(blk, blki, best, besti); /* strict: an earlier block keeps a tie */
}
#endif

#ifdef JVQ_AVX512
/* The same running minimum over 16 centroids per instruction: per dimension one load, one subtract
 * and one FMA serve 16 centroids instead of 8, and the compare writes a mask register that drives two
 * masked moves (AVX2: compare + two blendv, each two uops on Intel). A block's centroid count is a
 * multiple of 8, so its last group may be half full: a 16-lane mask keeps the absent lanes out of the
 * loads and of the minimum. Each lane's distance is the same FMA chain over d as in the AVX2 loop, so
 * the index and distance found are the same. */
static inline __attribute__((always_inline)) void km_block_avx512(const float* vec, const float* ct, int64_t nb,
                                                                  int64_t B, int32_t k0, float* best,
                                                                  int32_t* besti) {
    __m512 bestv = _mm512_set1_ps(INFINITY);
    __m512i bestiv = _mm512_setzero_si512();
    __m512i idxv = _mm512_add_epi32(_mm512_set1_epi32(k0),
                                    _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    const __m512i sixteen = _mm512_set1_epi32(16);
    for (int64_t g = 0; g < nb; g += 16) {
        const __mmask16 live = nb - g >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (nb - g)) - 1u);
        __m512 acc = _mm512_setzero_ps();
        for (int64_t d = 0; d < B; d++) {
            __m512 diff = _mm512_sub_ps(_mm512_set1_ps(vec[d]), _mm512_maskz_loadu_ps(live, ct + d * nb + g));
            acc = _mm512_fmadd_ps(diff, diff, acc);
        }
        const __mmask16 lt = (__mmask16)(_mm512_cmp_ps_mask(acc, bestv, _CMP_LT_OQ) & live);
        bestv = _mm512_mask_mov_ps(bestv, lt, acc);
        bestiv = _mm512_mask_mov_epi32(bestiv, lt, idxv);
        idxv = _mm512_add_epi32(idxv, sixteen);
    }
    _Alignas(64) float bd[16];
    _Alignas(64) int32_t bi[16];
    _mm512_store_ps(bd, bestv);
    _mm512_store_si512((void*)bi, bestiv);
    /* Lane minima: lowest index wins ties (a lane holds indices k0 + lane mod 16). */
    float blk = INFINITY;
    int32_t blki = 0;
    for (int t = 0; t < 16; t++) {
        if (bd[t] < blk || (bd[t] == blk && bi[t] < blki)) {
            blk = bd[t];
            blki = bi[t];
        }
    }
    km_offer(blk, blki, best, besti); /* strict: an earlier block keeps a tie */
}
#define km_block_vec km_block_avx512
#elif defined(JVQ_AVX2)
#define km_block_vec km_block_avx2
#endif

/* Nearest centroid for vectors [i0, i1) using transposed centroid blocks. */
static void km_assign_transposed(const float* v, int64_t i0, int64_t i1, const float* c, int64_t k, int64_t b,
                                 int32_t* idx, float* dist2) {
    _Alignas(32) float ct[KM_BLOCK_FLOATS];
    float best[KM_TILE];
    int32_t besti[KM_TILE];
    int64_t kb = (KM_BLOCK_FLOATS / b) / 8 * 8; /* centroids per block, a multiple of 8 (>= 64) */
    for (int64_t t0 = i0; t0 < i1; t0 += KM_TILE) {
        int64_t tn = i1 - t0 < KM_TILE ? i1 - t0 : KM_TILE;
        for (int64_t t = 0; t < tn; t++) {
            best[t] = INFINITY;
            besti[t] = 0;
        }
        for (int64_t k0 = 0; k0 < k; k0 += kb) {
            int64_t kn = k - k0 < kb ? k - k0 : kb;
            int64_t full = kn / 8 * 8; /* vector part; the last kn - full centroids are done one by one */
            for (int64_t j = 0; j < full; j++)
                for (int64_t d = 0; d < b; d++) ct[d * full + j] = c[(k0 + j) * b + d];
            for (int64_t t = 0; t < tn; t++) {
                const float* vec = v + (t0 + t) * b;
#ifdef JVQ_AVX2
                if (full > 0) {
                    switch (b) {
                        case 2: km_block_vec(vec, ct, full, 2, (int32_t)k0, &best[t], &besti[t]); break;
                        case 4: km_block_vec(vec, ct, full, 4, (int32_t)k0, &best[t], &besti[t]); break;
                        case 8: km_block_vec(vec, ct, full, 8, (int32_t)k0, &best[t], &besti[t]); break;
                        default: km_block_vec(vec, ct, full, b, (int32_t)k0, &best[t], &besti[t]); break;
                    }
                }
#else
                for (int64_t j = 0; j < full; j++) {
                    float acc = 0.0f;
                    for (int64_t d = 0; d < b; d++) {
                        float diff = vec[d] - ct[d * full + j];
                        acc += diff * diff;
                    }
                    km_offer(acc, (int32_t)(k0 + j), &best[t], &besti[t]);
                }
#endif
                for (int64_t j = full; j < kn; j++)
                    km_offer(jvq_sqdist(vec, c + (k0 + j) * b, b), (int32_t)(k0 + j), &best[t], &besti[t]);
            }
        }
        for (int64_t t = 0; t < tn; t++) {
            idx[t0 + t] = besti[t];
            if (dist2) dist2[t0 + t] = best[t];
        }
    }
}

/* Long vectors: one vectorised squared distance per (vector, centroid). */
static void km_assign_direct(const float* v, int64_t i0, int64_t i1, const float* c, int64_t k, int64_t b,
                             int32_t* idx, float* dist2) {
    for (int64_t i = i0; i < i1; i++) {
        const float* vec = v + i * b;
        float best = INFINITY;
        int32_t besti = 0;
        for (int64_t j = 0; j < k; j++) {
            const float* cj = c + j * b;
            int64_t d = 0;
            float acc = 0.0f;
#ifdef JVQ_AVX512
            /* 16 dimensions per FMA and a masked last step instead of up to 15 scalar ones. */
            __m512 a = _mm512_setzero_ps();
            for (; d + 16 <= b; d += 16) {
                __m512 diff = _mm512_sub_ps(_mm512_loadu_ps(vec + d), _mm512_loadu_ps(cj + d));
                a = _mm512_fmadd_ps(diff, diff, a);
            }
            if (d < b) {
                const __mmask16 live = (__mmask16)((1u << (b - d)) - 1u);
                __m512 diff = _mm512_sub_ps(_mm512_maskz_loadu_ps(live, vec + d), _mm512_maskz_loadu_ps(live, cj + d));
                a = _mm512_fmadd_ps(diff, diff, a);
                d = b;
            }
            acc = jvq_hsum512(a);
#elif defined(JVQ_AVX2)
            __m256 a = _mm256_setzero_ps();
            for (; d + 8 <= b; d += 8) {
                __m256 diff = _mm256_sub_ps(_mm256_loadu_ps(vec + d), _mm256_loadu_ps(cj + d));
                a = _mm256_fmadd_ps(diff, diff, a);
            }
            acc = jvq_hsum256(a);
#endif
            for (; d < b; d++) {
                float diff = vec[d] - cj[d];
                acc += diff * diff;
            }
            km_offer(acc, (int32_t)j, &best, &besti);
        }
        idx[i] = besti;
        if (dist2) dist2[i] = best;
    }
}

void jvq_kmeans_assign(const float* v, int64_t m, const float* c, int64_t k, int64_t b, int32_t* idx, float* dist2,
                       double* sums, int64_t* counts) {
    if (m <= 0 || k <= 0 || b <= 0) return;
    int nt = jvq_threads_for(m * k * b);
    int64_t tiles = (m + KM_TILE - 1) / KM_TILE;
    if (nt > tiles) nt = (int)tiles;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t t0, t1;
        jvq_split(tiles, omp_get_thread_num(), omp_get_num_threads(), &t0, &t1);
        int64_t i0 = t0 * KM_TILE, i1 = t1 * KM_TILE < m ? t1 * KM_TILE : m;
        if (b <= KM_MAX_TRANSPOSED_B) km_assign_transposed(v, i0, i1, c, k, b, idx, dist2);
        else km_assign_direct(v, i0, i1, c, k, b, idx, dist2);
    }
    if (!sums || !counts) return;
    int nt2 = jvq_threads_for(m * b);
    if (nt2 > k) nt2 = (int)k;
#pragma omp parallel num_threads(nt2) if (nt2 > 1)
    {
        int64_t c0, c1;
        jvq_split(k, omp_get_thread_num(), omp_get_num_threads(), &c0, &c1);
        for (int64_t i = 0; i < m; i++) {
            int64_t j = idx[i];
            if (j < c0 || j >= c1) continue;
            counts[j]++;
            const float* vec = v + i * b;
            double* s = sums + j * b;
            for (int64_t d = 0; d < b; d++) s[d] += (double)vec[d];
        }
    }
}
