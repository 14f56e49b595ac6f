/*
 * jvq_cpu.h — private helpers of the CPU kernels in native/src (not part of the ABI, not used by
 * cuda/): the thread bound, the vector-ISA switch and a few SIMD building blocks.
 *
 * The vector path is AVX2 + FMA + F16C (JVQ_AVX2); without them every kernel falls back to plain C
 * loops that compilers auto-vectorise. The Makefile builds with -march=native.
 */
#ifndef JVQ_CPU_H
#define JVQ_CPU_H

#include <stdint.h>
#include "jvq.h"
#include "jvq_math.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#define JVQ_AVX2 1
#include <immintrin.h>
#endif

/* The AVX-512 paths (JVQ_AVX512, on top of JVQ_AVX2): AVX-512 F + BW + VL, which every AVX-512
 * CPU since Skylake-SP and Zen 4 has. JVQ_EMULATE_AVX512 builds them on a machine without
 * AVX-512 against SIMDe, which implements the _mm512 intrinsics with AVX2: the Makefile's
 * avx512-emulated library, so that the CPU tests check the AVX-512 arithmetic on any x86 machine
 * (its speed means nothing; only a real AVX-512 CPU measures that). */
#if defined(JVQ_EMULATE_AVX512) && defined(JVQ_AVX2)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#define JVQ_AVX512 1
/* SIMDe's masked loads and stores read (and rewrite) all lanes and mask afterwards; hardware never
 * touches a masked-off lane, and the kernels rely on that at the ends of arrays. So the masked
 * accesses the kernels use are redefined here, lane by lane, for the emulated build only; the
 * kernels call the intrinsics as they are. Two that SIMDe 0.8.2 lacks are added the same way. */
static inline __m512 jvq_emulated_maskz_loadu_ps(__mmask16 k, const void* p) {
    float t[16];
    const float* f = (const float*)p;
    for (int l = 0; l < 16; l++) t[l] = ((k >> l) & 1) ? f[l] : 0.0f;
    return _mm512_loadu_ps(t);
}
static inline __m512i jvq_emulated_maskz_loadu_epi32(__mmask16 k, const void* p) {
    int32_t t[16];
    const int32_t* q = (const int32_t*)p;
    for (int l = 0; l < 16; l++) t[l] = ((k >> l) & 1) ? q[l] : 0;
    return _mm512_loadu_si512(t);
}
static inline __m256i jvq_emulated_maskz_loadu_epi16(__mmask16 k, const void* p) {
    uint16_t t[16];
    const uint16_t* q = (const uint16_t*)p;
    for (int l = 0; l < 16; l++) t[l] = ((k >> l) & 1) ? q[l] : 0;
    return _mm256_loadu_si256((const __m256i*)t);
}
static inline __m128i jvq_emulated_maskz_loadu_epi8(__mmask16 k, const void* p) {
    uint8_t t[16];
    const uint8_t* q = (const uint8_t*)p;
    for (int l = 0; l < 16; l++) t[l] = ((k >> l) & 1) ? q[l] : 0;
    return _mm_loadu_si128((const __m128i*)t);
}
static inline void jvq_emulated_mask_storeu_ps(void* p, __mmask16 k, __m512 v) {
    float t[16];
    float* f = (float*)p;
    _mm512_storeu_ps(t, v);
    for (int l = 0; l < 16; l++) if ((k >> l) & 1) f[l] = t[l];
}
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps(k, p) jvq_emulated_maskz_loadu_ps((k), (p))
#undef _mm512_maskz_loadu_epi32
#define _mm512_maskz_loadu_epi32(k, p) jvq_emulated_maskz_loadu_epi32((k), (p))
#undef _mm256_maskz_loadu_epi16
#define _mm256_maskz_loadu_epi16(k, p) jvq_emulated_maskz_loadu_epi16((k), (p))
#undef _mm_maskz_loadu_epi8
#define _mm_maskz_loadu_epi8(k, p) jvq_emulated_maskz_loadu_epi8((k), (p))
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps(p, k, v) jvq_emulated_mask_storeu_ps((p), (k), (v))
#undef _mm512_cvtepu8_epi32
#define _mm512_cvtepu8_epi32(b) _mm512_cvtepu16_epi32(_mm256_cvtepu8_epi16(b))
#elif defined(JVQ_AVX2) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
#define JVQ_AVX512 1
#endif

/* Threads a kernel may use (the bound set by jvq_set_num_threads, else all cores). A process-wide
 * value rather than omp_set_num_threads, whose setting only applies to the thread that called it
 * and Java may call kernels from any thread. */
int jvq_threads(void);

/* Below this many multiply-adds a kernel runs on the calling thread: starting the team costs more. */
#define JVQ_PARALLEL_MIN_WORK (1 << 15)

static inline int jvq_threads_for(int64_t work) {
    return work < JVQ_PARALLEL_MIN_WORK ? 1 : jvq_threads();
}

/* Element-wise kernels (add, rmsnorm, rope, silu_mul, softmax) touch each element a few times at
 * memory speed: below this many elements forking the team costs more than the work, above all on a
 * busy 2-core box, so they run on the calling thread. Counted in elements, not weighted by the cost
 * of exp or sin, so a decode step's vectors (dim or hidden wide, a few thousand) never fork. */
#define JVQ_PARALLEL_MIN_ELEMENTS (1 << 15)

static inline int jvq_threads_for_elements(int64_t elements) {
    return elements < JVQ_PARALLEL_MIN_ELEMENTS ? 1 : jvq_threads();
}

/* Rows [*r0, *r1) of n for part p of parts (contiguous, sizes differing by at most one). */
static inline void jvq_split(int64_t n, int p, int parts, int64_t* r0, int64_t* r1) {
    *r0 = n * p / parts;
    *r1 = n * (p + 1) / parts;
}

#ifdef JVQ_AVX2
static inline float jvq_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline float jvq_hmax256(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

#ifdef JVQ_AVX512
/* Sum of the 16 lanes, as two 8-lane halves (SIMDe has no _mm512_reduce_add_ps). */
static inline float jvq_hsum512(__m512 v) {
    return jvq_hsum256(_mm256_add_ps(_mm512_castps512_ps256(v),
                                     _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))));
}

/* Sixteen f16 / bf16 values widened to f32 (exact). */
static inline __m512 jvq_load16_f16(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)p));
}

static inline __m512 jvq_load16_bf16(const uint16_t* p) {
    __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
#endif

/* Eight f16 / bf16 values widened to f32 (exact). */
static inline __m256 jvq_load8_f16(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p));
}

static inline __m256 jvq_load8_bf16(const uint16_t* p) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
#endif

/* Dot product of two f32 vectors of length n. */
static inline float jvq_dot_f32(const float* a, const float* b, int64_t n) {
    int64_t j = 0;
    float s = 0.0f;
#ifdef JVQ_AVX2
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    for (; j + 16 <= n; j += 16) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j + 8), _mm256_loadu_ps(b + j + 8), a1);
    }
    for (; j + 8 <= n; j += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + j), _mm256_loadu_ps(b + j), a0);
    s = jvq_hsum256(_mm256_add_ps(a0, a1));
#endif
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}

/* y[0..n) += alpha * x[0..n). */
static inline void jvq_axpy_f32(float* y, float alpha, const float* x, int64_t n) {
    int64_t j = 0;
#ifdef JVQ_AVX2
    __m256 va = _mm256_set1_ps(alpha);
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + j), _mm256_loadu_ps(y + j)));
#endif
    for (; j < n; j++) y[j] += alpha * x[j];
}

/* y[0..n) *= alpha. */
static inline void jvq_scale_f32(float* y, float alpha, int64_t n) {
    int64_t j = 0;
#ifdef JVQ_AVX2
    __m256 va = _mm256_set1_ps(alpha);
    for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_mul_ps(va, _mm256_loadu_ps(y + j)));
#endif
    for (; j < n; j++) y[j] *= alpha;
}

/* Index of the first element of the ascending array a[0..n) that is >= key (n if none). */
static inline int64_t jvq_lower_bound_i32(const int32_t* a, int64_t n, int64_t key) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if ((int64_t)a[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo;
}

#endif /* JVQ_CPU_H */
