#!/bin/sh
# Runs every fuzz target in turn for SECONDS each (default 600), niced, and prints the
# execution counts libFuzzer reports. Usage: fuzz/run-all.sh [SECONDS]
set -u
cd "$(dirname "$0")"
secs=${1:-600}
nice -n 15 cargo +nightly fuzz build -s none -O -a || exit 1
for t in minutiae_record native_template ansi_nist wsq image_decode audit_trail sealed_gallery clear_gallery dedup_checkpoint; do
  mkdir -p corpus/$t
  nice -n 15 cargo +nightly fuzz run -s none -O -a $t corpus/$t -- \
    -max_total_time=$secs -rss_limit_mb=2048 -timeout=20 -max_len=65536 > logs/$t.log 2>&1
  echo "$t: exit $? $(grep -E '^Done [0-9]+ runs' logs/$t.log | tail -1)"
done
