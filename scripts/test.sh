#!/usr/bin/env bash
# Runs Rivulet's tests: the cargo test suite, the project's own QTT cases (tests/cases, all must
# pass) and, when ksqlDB's corpus is present next to the repository, the conformance ratchet
# (cases listed in tests/conformance/qtt-passing.txt must keep passing), and the REST
# conformance ratchet (tests/conformance/rest-qtt-passing.txt) against an in-process server.
#
# Run from the repository root: scripts/test.sh
set -euo pipefail

corpus=../shared/ksql-qtt/query-validation-tests
ratchet=tests/conformance/qtt-passing.txt
rest_corpus=../shared/ksql-qtt/rest-query-validation-tests
rest_ratchet=tests/conformance/rest-qtt-passing.txt

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

  # The REST cases run against an in-process server over real HTTP (loopback).
  echo "== REST conformance ratchet ($rest_corpus)"
  rest_report=target/rest-qtt-report.txt
  cargo run --quiet -- test "$rest_corpus" --ratchet "$rest_ratchet" --summary-by-file > "$rest_report" 2> target/rest-qtt-stderr.txt ||
    status=$?
  grep -v '^FAIL ' "$rest_report" || true
  awk 'NR == FNR { if (sub(/^  REGRESSION /, "")) wanted["FAIL " $0 ":"] = 1; next }
       { for (w in wanted) if (index($0, w) == 1) print }' "$rest_report" "$rest_report"
  echo "(full report: $rest_report)"
  exit "$status"
else
  echo "conformance corpus ../shared/ksql-qtt not found: skipping the conformance ratchet"
fi
