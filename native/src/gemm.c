/* Cache-blocked matrix products.
 *
 * Both jvq_gemm (Y = X Wᵀ, W in f32/f16/bf16) and jvq_sgemm (C = A B) are the product
 * C[m x n] (+)= A[m x k] B[k x n] where A's rows are contiguous in k; they differ only in how B is
 * read. The driver packs a KC x NC block of B into f32 panels of NR columns (k-major, converted from
 * the weight dtype and zero-padded) and runs, for every MR rows of A read in place, an MR x NR
 * register-tile micro-kernel that keeps the 6 x 16 block of C in 12 AVX2 accumulators: per k step it loads 2
 * vectors of B and broadcasts 6 values of A for 12 FMAs. Threads own disjoint column blocks of C,
 * so they never write the same memory. The AVX-512 build widens the tile to 12 x 32 (see MR); it keeps
 * the AVX2 packing, whose 8 x 8 transposes are bound by the one shuffle port either way (a 16 x 16
 * transpose needs as many shuffles per element). */
#include <string.h>
#include <omp.h>
#include "jvq_cpu.h"

#ifdef JVQ_AVX512
/* AVX-512 has 32 zmm registers: a 12 x 32 tile is 24 accumulators + 2 B vectors + 1 broadcast, so per
 * k step 2 loads of B and 12 broadcasts feed 24 FMAs of 16 lanes (384 multiply-adds), against 2 loads
 * and 6 broadcasts per 12 FMAs of 8 lanes (96) in the AVX2 tile: four times the work per load and
 * twice per broadcast, enough independent chains (24) to cover FMA latency on two FMA ports. */
#define MR 12   /* rows of A (tokens) per micro-tile */
#define NR 32   /* columns of C (weight rows) per micro-tile: two zmm */
#else
#define MR 6    /* rows of A (tokens) per micro-tile */
#define NR 16   /* columns of C (weight rows) per micro-tile */
#endif
#define KC 256  /* depth of a packed block: an A tile (6 KiB) stays in L1 */
#define NC 64   /* columns per packed B block (64 KiB, L2): sized for the stack of a Java thread */

/* How B is stored. */
enum b_layout { B_WEIGHT_T, B_ROW_MAJOR };

typedef struct {
    enum b_layout layout;
    int32_t wtype;    /* B_WEIGHT_T: dtype of W (rows = n, cols = k) */
    const void* b;
    int64_t n, k;
} b_source;

#ifdef JVQ_AVX2
/* Eight consecutive weights of W (flat element offset off) widened to f32. */
static inline __m256 load8_weights(const b_source* s, int64_t off) {
    if (s->wtype == JVQ_DTYPE_F32) return _mm256_loadu_ps((const float*)s->b + off);
    if (s->wtype == JVQ_DTYPE_F16) return jvq_load8_f16((const uint16_t*)s->b + off);
    return jvq_load8_bf16((const uint16_t*)s->b + off);
}

/* In-register transpose of the 8 x 8 block r[row][col]. */
static inline void transpose8(__m256* r) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
#endif

/* Packs B[k0 .. k0+kc) x [j0 .. j0+nc) into panels of NR columns: dst[p][kk][jj], zero beyond nc. */
static void pack_b(const b_source* s, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
    int64_t panels = (nc + NR - 1) / NR;
    for (int64_t p = 0; p < panels; p++) {
        float* d = dst + p * KC * NR;
        int64_t jn = nc - p * NR < NR ? nc - p * NR : NR;
        int64_t jb = j0 + p * NR;
        if (s->layout == B_ROW_MAJOR) {
            const float* b = (const float*)s->b;
            for (int64_t kk = 0; kk < kc; kk++) {
                const float* src = b + (k0 + kk) * s->n + jb;
                int64_t jj = 0;
                for (; jj < jn; jj++) d[kk * NR + jj] = src[jj];
                for (; jj < NR; jj++) d[kk * NR + jj] = 0.0f;
            }
            continue;
        }
        /* W row jb+jj, columns k0..k0+kc -> panel column jj (a transpose with conversion). */
        int64_t kdone = 0;
#ifdef JVQ_AVX2
        if (jn == NR) { /* full panel: 8 x 8 blocks widened and transposed in registers */
            for (; kdone + 8 <= kc; kdone += 8) {
                for (int64_t jj0 = 0; jj0 < NR; jj0 += 8) {
                    __m256 r[8];
                    for (int t = 0; t < 8; t++) r[t] = load8_weights(s, (jb + jj0 + t) * s->k + k0 + kdone);
                    transpose8(r);
                    for (int t = 0; t < 8; t++) _mm256_store_ps(d + (kdone + t) * NR + jj0, r[t]);
                }
            }
        }
#endif
        for (int64_t jj = 0; jj < NR; jj++) {
            if (jj >= jn) {
                for (int64_t kk = 0; kk < kc; kk++) d[kk * NR + jj] = 0.0f;
                continue;
            }
            int64_t off = (jb + jj) * s->k + k0;
            int64_t kk = kdone;
#ifdef JVQ_AVX2
            /* Widen 8 weights at a time, then scatter them down the panel column. */
            _Alignas(32) float tmp[8];
            for (; kk + 8 <= kc; kk += 8) {
                _mm256_store_ps(tmp, load8_weights(s, off + kk));
                for (int t = 0; t < 8; t++) d[(kk + t) * NR + jj] = tmp[t];
            }
#endif
            for (; kk < kc; kk++) {
                if (s->wtype == JVQ_DTYPE_F32) d[kk * NR + jj] = ((const float*)s->b)[off + kk];
                else if (s->wtype == JVQ_DTYPE_F16) d[kk * NR + jj] = jvq_f16_to_float(((const uint16_t*)s->b)[off + kk]);
                else d[kk * NR + jj] = jvq_bf16_to_float(((const uint16_t*)s->b)[off + kk]);
            }
        }
    }
}

/* tile[MR][NR] = Σ_kk a[i][kk] * bp[kk][j]: A is read in place through MR row pointers (already at
 * column k0), each a sequential stream, so A needs no packing. */
static void micro_kernel(int64_t kc, const float* const* a, const float* bp, float* tile) {
#ifdef JVQ_AVX512
    /* Each element of C is the same chain of fused multiply-adds over kk as in the AVX2 tile. */
#define GEMM_ROW_DECL(i) const float* a##i = a[i]; __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps();
#define GEMM_ROW_FMA(i)                                                                                  \
    av = _mm512_set1_ps(a##i[kk]);                                                                       \
    c##i##0 = _mm512_fmadd_ps(av, b0, c##i##0);                                                          \
    c##i##1 = _mm512_fmadd_ps(av, b1, c##i##1);
#define GEMM_ROW_STORE(i) _mm512_store_ps(tile + (i) * NR, c##i##0); _mm512_store_ps(tile + (i) * NR + 16, c##i##1);
    GEMM_ROW_DECL(0) GEMM_ROW_DECL(1) GEMM_ROW_DECL(2) GEMM_ROW_DECL(3) GEMM_ROW_DECL(4) GEMM_ROW_DECL(5)
    GEMM_ROW_DECL(6) GEMM_ROW_DECL(7) GEMM_ROW_DECL(8) GEMM_ROW_DECL(9) GEMM_ROW_DECL(10) GEMM_ROW_DECL(11)
    for (int64_t kk = 0; kk < kc; kk++) {
        __m512 b0 = _mm512_load_ps(bp + kk * NR), b1 = _mm512_load_ps(bp + kk * NR + 16);
        __m512 av;
        GEMM_ROW_FMA(0) GEMM_ROW_FMA(1) GEMM_ROW_FMA(2) GEMM_ROW_FMA(3) GEMM_ROW_FMA(4) GEMM_ROW_FMA(5)
        GEMM_ROW_FMA(6) GEMM_ROW_FMA(7) GEMM_ROW_FMA(8) GEMM_ROW_FMA(9) GEMM_ROW_FMA(10) GEMM_ROW_FMA(11)
    }
    GEMM_ROW_STORE(0) GEMM_ROW_STORE(1) GEMM_ROW_STORE(2) GEMM_ROW_STORE(3) GEMM_ROW_STORE(4) GEMM_ROW_STORE(5)
    GEMM_ROW_STORE(6) GEMM_ROW_STORE(7) GEMM_ROW_STORE(8) GEMM_ROW_STORE(9) GEMM_ROW_STORE(10) GEMM_ROW_STORE(11)
#undef GEMM_ROW_DECL
#undef GEMM_ROW_FMA
#undef GEMM_ROW_STORE
#elif defined(JVQ_AVX2)
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t kk = 0; kk < kc; kk++) {
        __m256 b0 = _mm256_load_ps(bp + kk * NR), b1 = _mm256_load_ps(bp + kk * NR + 8);
        __m256 av;
        av = _mm256_broadcast_ss(a0 + kk); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a1 + kk); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a2 + kk); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a3 + kk); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a4 + kk); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a5 + kk); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
    }
    _mm256_store_ps(tile + 0 * NR, c00); _mm256_store_ps(tile + 0 * NR + 8, c01);
    _mm256_store_ps(tile + 1 * NR, c10); _mm256_store_ps(tile + 1 * NR + 8, c11);
    _mm256_store_ps(tile + 2 * NR, c20); _mm256_store_ps(tile + 2 * NR + 8, c21);
    _mm256_store_ps(tile + 3 * NR, c30); _mm256_store_ps(tile + 3 * NR + 8, c31);
    _mm256_store_ps(tile + 4 * NR, c40); _mm256_store_ps(tile + 4 * NR + 8, c41);
    _mm256_store_ps(tile + 5 * NR, c50); _mm256_store_ps(tile + 5 * NR + 8, c51);
#else
    for (int64_t e = 0; e < MR * NR; e++) tile[e] = 0.0f;
    for (int64_t kk = 0; kk < kc; kk++) {
        for (int64_t i = 0; i < MR; i++) {
            float av = a[i][kk];
#pragma omp simd
            for (int64_t j = 0; j < NR; j++) tile[i * NR + j] += av * bp[kk * NR + j];
        }
    }
#endif
}

/* C[m x n] (+)= A[m x k] B. */
static void blocked_product(const b_source* s, const float* a, float* c, int64_t m, int64_t n, int64_t k,
                            int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate) memset(c, 0, (size_t)(m * n) * sizeof(float));
        return;
    }
    int64_t col_blocks = (n + NC - 1) / NC;
    int nt = jvq_threads_for(m * n * k);
    if (nt > col_blocks) nt = (int)col_blocks;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        _Alignas(64) float bp[KC * NC];
        _Alignas(64) float tile[MR * NR];
#pragma omp for schedule(dynamic, 1)
        for (int64_t cb = 0; cb < col_blocks; cb++) {
            int64_t j0 = cb * NC;
            int64_t nc = n - j0 < NC ? n - j0 : NC;
            for (int64_t k0 = 0; k0 < k; k0 += KC) {
                int64_t kc = k - k0 < KC ? k - k0 : KC;
                int add = accumulate || k0 > 0;
                pack_b(s, k0, kc, j0, nc, bp);
                for (int64_t i0 = 0; i0 < m; i0 += MR) {
                    int64_t mr = m - i0 < MR ? m - i0 : MR;
                    /* Rows past m (last tile) repeat row i0; their results are dropped. */
                    const float* arows[MR];
                    for (int64_t ii = 0; ii < MR; ii++) arows[ii] = a + (i0 + (ii < mr ? ii : 0)) * k + k0;
                    for (int64_t p = 0; p * NR < nc; p++) {
                        int64_t jn = nc - p * NR < NR ? nc - p * NR : NR;
                        micro_kernel(kc, arows, bp + p * KC * NR, tile);
                        for (int64_t ii = 0; ii < mr; ii++) {
                            float* crow = c + (i0 + ii) * n + j0 + p * NR;
                            const float* trow = tile + ii * NR;
                            if (add) {
                                for (int64_t jj = 0; jj < jn; jj++) crow[jj] += trow[jj];
                            } else {
                                for (int64_t jj = 0; jj < jn; jj++) crow[jj] = trow[jj];
                            }
                        }
                    }
                }
            }
        }
    }
}

int32_t jvq_gemm(int32_t wtype, const void* w, const float* x, float* y, int64_t n, int64_t rows, int64_t cols) {
    if (wtype != JVQ_DTYPE_F32 && wtype != JVQ_DTYPE_F16 && wtype != JVQ_DTYPE_BF16) return -1;
    if (n == 1) return jvq_gemv(wtype, w, x, y, rows, cols); /* one token: streaming W beats packing it */
    b_source s = {B_WEIGHT_T, wtype, w, rows, cols};
    blocked_product(&s, x, y, n, rows, cols, 0);
    return 0;
}

void jvq_sgemm(const float* a, const float* b, float* c, int64_t m, int64_t n, int64_t k, int32_t accumulate) {
    b_source s = {B_ROW_MAJOR, JVQ_DTYPE_F32, b, n, k};
    blocked_product(&s, a, c, m, n, k, accumulate != 0);
}
