#!/usr/bin/env bash
# The demo: a real Kappa-style pipeline on generated click data.
set -euo pipefail
kappa=${1:-build/kappa}
here=$(cd "$(dirname "$0")/.." && pwd)
gen=$here/../shared/bench/gen_clicks.py
work=$(mktemp -d /tmp/kappa-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT
export KAPPA_DATA_DIR=$work/data

echo "== generate 100000 clicks"
if [ -f "$gen" ]; then
  python3 "$gen" 100000 > "$work/clicks.jsonl"
else  # outside the workspace: a small stand-in with the same fields
  python3 -c 'import random; r = random.Random(1)
for i in range(100000): print("{\"user_id\":\"u%d\",\"product_id\":\"p%d\",\"event_type\":\"view\",\"timestamp_ms\":%d}" % (int(1000 * r.random() ** 2.5), r.randint(0, 500), 1700000000000 + 5 * i))' > "$work/clicks.jsonl"
fi
head -n 2 "$work/clicks.jsonl"
echo "== create topic clicks (4 partitions) and produce, keyed by user_id, event time from timestamp_ms"
# The generated event times are from 2023; retention.ms counts from record
# timestamps (as in Kafka), so keep them with retention.ms=-1.
"$kappa" topic create clicks --partitions 4 --config segment.bytes=1048576 --config retention.ms=-1
"$kappa" produce clicks --key-field user_id --timestamp-field timestamp_ms < "$work/clicks.jsonl"
echo "== consume the first 3 records of partition 0 (kcat format)"
"$kappa" consume clicks --partition 0 --count 3 -f 'p%p o%o key=%k ts=%T %s\n'
echo "== replay everything with a consumer group, count the records"
"$kappa" consume clicks --group demo | wc -l
"$kappa" group describe demo
echo "== topic describe"
"$kappa" topic describe clicks
echo "== verify every batch CRC and the indexes"
"$kappa" verify clicks
echo "== sessions per user (30 min gap), live: sessionize --follow runs while more clicks arrive"
python3 - "$work/clicks.jsonl" "$work/more.jsonl" <<'PY'
import json, sys
# 20000 more clicks, two hours later, from the same users
lines = open(sys.argv[1]).read().splitlines()[:20000]
with open(sys.argv[2], "w") as out:
    for l in lines:
        e = json.loads(l); e["timestamp_ms"] += 2 * 3600 * 1000
        out.write(json.dumps(e, separators=(",", ":")) + "\n")
PY
job=(--input clicks --key-field user_id --time-field timestamp_ms --gap 30m --max-out-of-orderness 30s
     --count-by event_type)
"$kappa" sessionize "${job[@]}" --output sessions --follow 2> "$work/live.log" &
live=$!
for part in 1 2; do   # the new clicks arrive in two pieces while the job runs
  sed -n "$(( (part - 1) * 10000 + 1 )),$(( part * 10000 ))p" "$work/more.jsonl" |
    "$kappa" produce clicks --key-field user_id --timestamp-field timestamp_ms 2> /dev/null
  sleep 1
done
until "$kappa" group describe sessionize:sessions | awk 'NR > 1 && $5 != 0 { busy = 1 } END { exit busy }'; do sleep 0.2; done
kill -TERM "$live"; wait "$live" || true
cat "$work/live.log"
echo "first sessions:"
"$kappa" consume sessions --partition 0 --count 2
echo "== replay: the same job from offset 0 into a new topic gives the same sessions"
"$kappa" sessionize "${job[@]}" --output sessions.replay
for t in sessions sessions.replay; do
  "$kappa" consume "$t" -f '%p %o %k %s\n' | sort -n -k1,1 -k2,2 > "$work/$t.txt"
done
cmp "$work/sessions.txt" "$work/sessions.replay.txt" &&
  echo "live and replay agree: $(wc -l < "$work/sessions.txt") sessions, record for record"
echo "== the same as a shell filter, stdin to stdout"
head -n 5000 "$work/clicks.jsonl" |
  "$kappa" sessionize --input - --output - --key-field user_id --time-field timestamp_ms --gap 30m | head -n 2
echo "== retention: keep about 1 MB per partition live, move older segments to an archive tier"
"$kappa" topic alter clicks --config retention.bytes=1048576 --config archive.dir="$work/archive"
"$kappa" maintain clicks
echo "live records: $("$kappa" consume clicks | wc -l), live + archived: $("$kappa" consume clicks --archive | wc -l)"
