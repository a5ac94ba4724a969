#!/usr/bin/env bash
# Runs Rivulet's tests: the cargo test suite, the project's own QTT cases (tests/cases, all must
# pass) and, when ksqlDB's corpus is present next to the repository, the conformance ratchet
# (cases listed in tests/conformance/qtt-passing.txt must keep passing).
#
# Run from the repository root: scripts/test.sh
set -euo pipefail

corpus=../shared/ksql-qtt/query-validation-tests
ratchet=tests/conformance/qtt-passing.txt

echo "== cargo test"
cargo test

if [[ -n "$(find tests/cases -name '*.json' -print -quit 2>/dev/null)" ]]; then
  echo "== project cases (tests/cases)"
  cargo run --quiet -- test tests/cases
fi

if [[ -d "$corpus" ]]; then
  echo "== conformance ratchet ($corpus)"
  mkdir -p target
  report=target/qtt-report.txt
  # Cases not in the ratchet may fail: keep their FAIL lines in the report file, show the rest.
  status=0
  # stderr carries the engine's processing-log warnings for the corpus's bad records.
  cargo run --quiet -- test "$corpus" --ratchet "$ratchet" --summary-by-file > "$report" 2> target/qtt-stderr.txt ||
    status=$?
  grep -v '^FAIL ' "$report" || true
  # The diffs of the regressions, if any.
  awk 'NR == FNR { if (sub(/^  REGRESSION /, "")) wanted["FAIL " $0 ":"] = 1; next }
       { for (w in wanted) if (index($0, w) == 1) print }' "$report" "$report"
  echo "(full report with every failure: $report; engine warnings: target/qtt-stderr.txt)"
  exit "$status"
else
  echo "conformance corpus ../shared/ksql-qtt not found: skipping the conformance ratchet"
fi
