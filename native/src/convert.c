/* Bulk dtype conversion. The vector paths give the same bits as the scalar jvq_math.h functions
 * (F16C rounds to nearest-even and quietens NaNs exactly like jvq_float_to_f16/jvq_f16_to_float;
 * the bf16 rounding is the same integer arithmetic), so results never depend on the path taken. */
#include "jvq_cpu.h"

void jvq_f16_to_f32(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
#ifdef JVQ_AVX2
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, jvq_load8_f16(src + i));
#endif
    for (; i < n; i++) dst[i] = jvq_f16_to_float(src[i]);
}

void jvq_f32_to_f16(const float* src, uint16_t* dst, int64_t n) {
    int64_t i = 0;
#ifdef JVQ_AVX2
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_storeu_si128((__m128i*)(dst + i), h);
    }
#endif
    for (; i < n; i++) dst[i] = jvq_float_to_f16(src[i]);
}

void jvq_bf16_to_f32(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
#ifdef JVQ_AVX2
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, jvq_load8_bf16(src + i));
#endif
    for (; i < n; i++) dst[i] = jvq_bf16_to_float(src[i]);
}

void jvq_f32_to_bf16(const float* src, uint16_t* dst, int64_t n) {
    int64_t i = 0;
#ifdef JVQ_AVX2
    const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff);
    const __m256i inf = _mm256_set1_epi32(0x7f800000);
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i bias = _mm256_set1_epi32(0x7fff);
    const __m256i quiet = _mm256_set1_epi32(0x00400000);
    for (; i + 8 <= n; i += 8) {
        __m256i x = _mm256_loadu_si256((const __m256i*)(src + i));
        __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, abs_mask), inf);
        __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), one);
        __m256i rounded = _mm256_add_epi32(x, _mm256_add_epi32(bias, lsb));
        __m256i r = _mm256_blendv_epi8(rounded, _mm256_or_si256(x, quiet), is_nan);
        r = _mm256_srli_epi32(r, 16);
        /* packus works per 128-bit lane: [a0..a3 b0..b3 | a4..a7 b4..b7] with b = a; fix the order. */
        __m256i packed = _mm256_packus_epi32(r, r);
        packed = _mm256_permute4x64_epi64(packed, 0x08);
        _mm_storeu_si128((__m128i*)(dst + i), _mm256_castsi256_si128(packed));
    }
#endif
    for (; i < n; i++) dst[i] = jvq_float_to_bf16(src[i]);
}
