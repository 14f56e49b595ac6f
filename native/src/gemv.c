/* Dense GEMV y = W x for f32, f16 and bf16 weights: memory-bound, so the aim is to stream W once at
 * full bandwidth. Four rows are processed together so that each load of x feeds four rows, with two
 * accumulators per row to hide FMA latency; threads take contiguous row ranges. */
#include <omp.h>
#include "jvq_cpu.h"

/* Generates gemv_<NAME>(w, x, y, r0, r1, cols) computing rows [r0, r1). LOAD16 widens 16 weights to
 * a __m512 (AVX-512 path), LOAD8 8 weights to a __m256 (AVX2 path), LOAD1 one weight to float. */
#ifdef JVQ_AVX512
/* The AVX2 kernel's structure at twice the width: four rows share each x load, two accumulators per
 * row; a column tail of 8..15 takes one 8-wide step, the last < 8 columns are scalar. */
#define JVQ_DEFINE_GEMV(NAME, T, LOAD16, LOAD8, LOAD1)                                               \
    static void gemv_##NAME(const T* w, const float* x, float* y, int64_t r0, int64_t r1, int64_t cols) { \
        int64_t r = r0;                                                                              \
        for (; r + 4 <= r1; r += 4) {                                                                \
            const T* w0 = w + r * cols;                                                              \
            const T* w1 = w0 + cols;                                                                 \
            const T* w2 = w1 + cols;                                                                 \
            const T* w3 = w2 + cols;                                                                 \
            __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();                               \
            __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();                               \
            __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();                               \
            __m512 b2 = _mm512_setzero_ps(), b3 = _mm512_setzero_ps();                               \
            int64_t j = 0;                                                                           \
            for (; j + 32 <= cols; j += 32) {                                                        \
                __m512 x0 = _mm512_loadu_ps(x + j), x1 = _mm512_loadu_ps(x + j + 16);                \
                a0 = _mm512_fmadd_ps(LOAD16(w0 + j), x0, a0);                                        \
                a1 = _mm512_fmadd_ps(LOAD16(w1 + j), x0, a1);                                        \
                a2 = _mm512_fmadd_ps(LOAD16(w2 + j), x0, a2);                                        \
                a3 = _mm512_fmadd_ps(LOAD16(w3 + j), x0, a3);                                        \
                b0 = _mm512_fmadd_ps(LOAD16(w0 + j + 16), x1, b0);                                   \
                b1 = _mm512_fmadd_ps(LOAD16(w1 + j + 16), x1, b1);                                   \
                b2 = _mm512_fmadd_ps(LOAD16(w2 + j + 16), x1, b2);                                   \
                b3 = _mm512_fmadd_ps(LOAD16(w3 + j + 16), x1, b3);                                   \
            }                                                                                        \
            for (; j + 16 <= cols; j += 16) {                                                        \
                __m512 x0 = _mm512_loadu_ps(x + j);                                                  \
                a0 = _mm512_fmadd_ps(LOAD16(w0 + j), x0, a0);                                        \
                a1 = _mm512_fmadd_ps(LOAD16(w1 + j), x0, a1);                                        \
                a2 = _mm512_fmadd_ps(LOAD16(w2 + j), x0, a2);                                        \
                a3 = _mm512_fmadd_ps(LOAD16(w3 + j), x0, a3);                                        \
            }                                                                                        \
            __m256 c0 = _mm256_setzero_ps(), c1 = _mm256_setzero_ps();                               \
            __m256 c2 = _mm256_setzero_ps(), c3 = _mm256_setzero_ps();                               \
            if (j + 8 <= cols) {                                                                     \
                __m256 x0 = _mm256_loadu_ps(x + j);                                                  \
                c0 = _mm256_mul_ps(LOAD8(w0 + j), x0);                                               \
                c1 = _mm256_mul_ps(LOAD8(w1 + j), x0);                                               \
                c2 = _mm256_mul_ps(LOAD8(w2 + j), x0);                                               \
                c3 = _mm256_mul_ps(LOAD8(w3 + j), x0);                                               \
                j += 8;                                                                              \
            }                                                                                        \
            float s0 = jvq_hsum512(_mm512_add_ps(a0, b0)) + jvq_hsum256(c0);                         \
            float s1 = jvq_hsum512(_mm512_add_ps(a1, b1)) + jvq_hsum256(c1);                         \
            float s2 = jvq_hsum512(_mm512_add_ps(a2, b2)) + jvq_hsum256(c2);                         \
            float s3 = jvq_hsum512(_mm512_add_ps(a3, b3)) + jvq_hsum256(c3);                         \
            for (; j < cols; j++) {                                                                  \
                float xj = x[j];                                                                     \
                s0 += LOAD1(w0[j]) * xj;                                                             \
                s1 += LOAD1(w1[j]) * xj;                                                             \
                s2 += LOAD1(w2[j]) * xj;                                                             \
                s3 += LOAD1(w3[j]) * xj;                                                             \
            }                                                                                        \
            y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3;                                  \
        }                                                                                            \
        for (; r < r1; r++) {                                                                        \
            const T* w0 = w + r * cols;                                                              \
            __m512 a0 = _mm512_setzero_ps(), b0 = _mm512_setzero_ps();                               \
            int64_t j = 0;                                                                           \
            for (; j + 32 <= cols; j += 32) {                                                        \
                a0 = _mm512_fmadd_ps(LOAD16(w0 + j), _mm512_loadu_ps(x + j), a0);                    \
                b0 = _mm512_fmadd_ps(LOAD16(w0 + j + 16), _mm512_loadu_ps(x + j + 16), b0);          \
            }                                                                                        \
            for (; j + 16 <= cols; j += 16) a0 = _mm512_fmadd_ps(LOAD16(w0 + j), _mm512_loadu_ps(x + j), a0); \
            float s0 = jvq_hsum512(_mm512_add_ps(a0, b0));                                           \
            if (j + 8 <= cols) {                                                                     \
                s0 += jvq_hsum256(_mm256_mul_ps(LOAD8(w0 + j), _mm256_loadu_ps(x + j)));             \
                j += 8;                                                                              \
            }                                                                                        \
            for (; j < cols; j++) s0 += LOAD1(w0[j]) * x[j];                                         \
            y[r] = s0;                                                                               \
        }                                                                                            \
    }
#elif defined(JVQ_AVX2)
#define JVQ_DEFINE_GEMV(NAME, T, LOAD16, LOAD8, LOAD1)                                               \
    static void gemv_##NAME(const T* w, const float* x, float* y, int64_t r0, int64_t r1, int64_t cols) { \
        int64_t r = r0;                                                                              \
        for (; r + 4 <= r1; r += 4) {                                                                \
            const T* w0 = w + r * cols;                                                              \
            const T* w1 = w0 + cols;                                                                 \
            const T* w2 = w1 + cols;                                                                 \
            const T* w3 = w2 + cols;                                                                 \
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();                               \
            __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();                               \
            __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();                               \
            __m256 b2 = _mm256_setzero_ps(), b3 = _mm256_setzero_ps();                               \
            int64_t j = 0;                                                                           \
            for (; j + 16 <= cols; j += 16) {                                                        \
                __m256 x0 = _mm256_loadu_ps(x + j), x1 = _mm256_loadu_ps(x + j + 8);                 \
                a0 = _mm256_fmadd_ps(LOAD8(w0 + j), x0, a0);                                         \
                a1 = _mm256_fmadd_ps(LOAD8(w1 + j), x0, a1);                                         \
                a2 = _mm256_fmadd_ps(LOAD8(w2 + j), x0, a2);                                         \
                a3 = _mm256_fmadd_ps(LOAD8(w3 + j), x0, a3);                                         \
                b0 = _mm256_fmadd_ps(LOAD8(w0 + j + 8), x1, b0);                                     \
                b1 = _mm256_fmadd_ps(LOAD8(w1 + j + 8), x1, b1);                                     \
                b2 = _mm256_fmadd_ps(LOAD8(w2 + j + 8), x1, b2);                                     \
                b3 = _mm256_fmadd_ps(LOAD8(w3 + j + 8), x1, b3);                                     \
            }                                                                                        \
            for (; j + 8 <= cols; j += 8) {                                                          \
                __m256 x0 = _mm256_loadu_ps(x + j);                                                  \
                a0 = _mm256_fmadd_ps(LOAD8(w0 + j), x0, a0);                                         \
                a1 = _mm256_fmadd_ps(LOAD8(w1 + j), x0, a1);                                         \
                a2 = _mm256_fmadd_ps(LOAD8(w2 + j), x0, a2);                                         \
                a3 = _mm256_fmadd_ps(LOAD8(w3 + j), x0, a3);                                         \
            }                                                                                        \
            float s0 = jvq_hsum256(_mm256_add_ps(a0, b0)), s1 = jvq_hsum256(_mm256_add_ps(a1, b1));  \
            float s2 = jvq_hsum256(_mm256_add_ps(a2, b2)), s3 = jvq_hsum256(_mm256_add_ps(a3, b3));  \
            for (; j < cols; j++) {                                                                  \
                float xj = x[j];                                                                     \
                s0 += LOAD1(w0[j]) * xj;                                                             \
                s1 += LOAD1(w1[j]) * xj;                                                             \
                s2 += LOAD1(w2[j]) * xj;                                                             \
                s3 += LOAD1(w3[j]) * xj;                                                             \
            }                                                                                        \
            y[r] = s0; y[r + 1] = s1; y[r + 2] = s2; y[r + 3] = s3;                                  \
        }                                                                                            \
        for (; r < r1; r++) {                                                                        \
            const T* w0 = w + r * cols;                                                              \
            __m256 a0 = _mm256_setzero_ps(), b0 = _mm256_setzero_ps();                               \
            int64_t j = 0;                                                                           \
            for (; j + 16 <= cols; j += 16) {                                                        \
                a0 = _mm256_fmadd_ps(LOAD8(w0 + j), _mm256_loadu_ps(x + j), a0);                     \
                b0 = _mm256_fmadd_ps(LOAD8(w0 + j + 8), _mm256_loadu_ps(x + j + 8), b0);             \
            }                                                                                        \
            for (; j + 8 <= cols; j += 8) a0 = _mm256_fmadd_ps(LOAD8(w0 + j), _mm256_loadu_ps(x + j), a0); \
            float s0 = jvq_hsum256(_mm256_add_ps(a0, b0));                                           \
            for (; j < cols; j++) s0 += LOAD1(w0[j]) * x[j];                                         \
            y[r] = s0;                                                                               \
        }                                                                                            \
    }
#else
#define JVQ_DEFINE_GEMV(NAME, T, LOAD16, LOAD8, LOAD1)                                                      \
    static void gemv_##NAME(const T* w, const float* x, float* y, int64_t r0, int64_t r1, int64_t cols) { \
        for (int64_t r = r0; r < r1; r++) {                                                          \
            const T* wr = w + r * cols;                                                              \
            float s = 0.0f;                                                                          \
            _Pragma("omp simd reduction(+ : s)")                                                     \
            for (int64_t j = 0; j < cols; j++) s += LOAD1(wr[j]) * x[j];                             \
            y[r] = s;                                                                                \
        }                                                                                            \
    }
#endif

#define JVQ_IDENTITY(v) (v)
JVQ_DEFINE_GEMV(f32, float, _mm512_loadu_ps, _mm256_loadu_ps, JVQ_IDENTITY)
JVQ_DEFINE_GEMV(f16, uint16_t, jvq_load16_f16, jvq_load8_f16, jvq_f16_to_float)
JVQ_DEFINE_GEMV(bf16, uint16_t, jvq_load16_bf16, jvq_load8_bf16, jvq_bf16_to_float)

int32_t jvq_gemv(int32_t wtype, const void* w, const float* x, float* y, int64_t rows, int64_t cols) {
    if (wtype != JVQ_DTYPE_F32 && wtype != JVQ_DTYPE_F16 && wtype != JVQ_DTYPE_BF16) return -1;
    int nt = jvq_threads_for(rows * cols);
    if (nt > rows) nt = rows > 0 ? (int)rows : 1;
#pragma omp parallel num_threads(nt) if (nt > 1)
    {
        int64_t r0, r1;
        /* Split in whole groups of 4 rows so every thread runs the 4-row kernel. */
        int64_t groups = (rows + 3) / 4;
        jvq_split(groups, omp_get_thread_num(), omp_get_num_threads(), &r0, &r1);
        r0 *= 4;
        r1 = r1 * 4 < rows ? r1 * 4 : rows;
        switch (wtype) {
            case JVQ_DTYPE_F32: gemv_f32((const float*)w, x, y, r0, r1, cols); break;
            case JVQ_DTYPE_F16: gemv_f16((const uint16_t*)w, x, y, r0, r1, cols); break;
            default: gemv_bf16((const uint16_t*)w, x, y, r0, r1, cols); break;
        }
    }
    return 0;
}
