#!/usr/bin/env bash
# Prints one closing line "tests: N passed, N failed, N skipped" from the Surefire XML reports.
set -u
shopt -s nullglob
files=(target/surefire-reports/TEST-*.xml)
if [ ${#files[@]} -eq 0 ]; then echo "tests: 0 passed, 0 failed"; exit 1; fi
awk -F'"' '/<testsuite / {
    for (i = 1; i < NF; i++) {
      if ($i ~ / tests=$/) t += $(i+1); if ($i ~ / failures=$/) f += $(i+1)
      if ($i ~ / errors=$/) e += $(i+1); if ($i ~ / skipped=$/) s += $(i+1)
    } }
  END { printf "tests: %d passed, %d failed, %d skipped\n", t - f - e - s, f + e, s; exit (f + e > 0) }' "${files[@]}"
