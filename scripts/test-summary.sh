#!/usr/bin/env bash
# Prints one closing line "tests: N passed, N failed, N skipped" from the Surefire XML reports
# (both runs: the default one and the AVX-512 twin run).
set -u
shopt -s nullglob
files=(target/surefire-reports/TEST-*.xml)
# The kernel tests run a second time against the AVX-512 paths (pom.xml profile avx512-emulated).
emulated=(target/surefire-reports-avx512-emulated/TEST-*.xml)
if [ ${#emulated[@]} -gt 0 ]; then
  echo "AVX-512 paths (emulated by SIMDe): ${#emulated[@]} test classes run again against build/avx512-emulated/libjvq.so"
fi
files+=("${emulated[@]}")
if [ ${#files[@]} -eq 0 ]; then echo "tests: 0 passed, 0 failed"; exit 1; fi
awk -F'"' '/<testsuite / {
    for (i = 1; i < NF; i++) {
      if ($i ~ / tests=$/) t += $(i+1); if ($i ~ / failures=$/) f += $(i+1)
      if ($i ~ / errors=$/) e += $(i+1); if ($i ~ / skipped=$/) s += $(i+1)
    } }
  END { printf "tests: %d passed, %d failed, %d skipped\n", t - f - e - s, f + e, s; exit (f + e > 0) }' "${files[@]}"
