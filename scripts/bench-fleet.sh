#!/usr/bin/env bash
# The promql source at fleet scale: a demo fleet of N instances served from one process, a real
# Prometheus on loopback scraping all of them, and the real cockpit (release build, in a tmux
# pane of 200x60) reading its panels through four [[fleet]] sections — it scrapes none of them.
# Prints, for the cockpit process only:
#   - time from start to the first complete frame (the header shows N/N targets up: every
#     instance listed with its panels), polled from the pane every 20 ms;
#   - CPU per refresh: utime+stime from /proc/PID/stat over the measured seconds, divided by
#     the refreshes in them;
#   - resident memory: VmRSS at the end and the peak VmHWM, from /proc/PID/status;
#   - queries per refresh, counted by Prometheus itself (prometheus_http_requests_total of
#     /api/v1/query and /api/v1/query_range) over the measured seconds.
# Usage: scripts/bench-fleet.sh [instances=1000] [seconds=60] [refresh_s=5]
# Needs: a release build (cargo build --release), prometheus, tmux, curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
secs=${2:-60}
every=${3:-5}
bin=$PWD/target/release/watchdeck
[ -x "$bin" ] || { echo "build first: cargo build --release"; exit 1; }
for tool in prometheus tmux curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed"; exit 1; }
done
work=$(mktemp -d)
session=wd-bench-$$
cleanup() {
  tmux kill-session -t "$session" 2>/dev/null || true
  [ -n "${prom_pid:-}" ] && kill "$prom_pid" 2>/dev/null || true
  [ -n "${demo_pid:-}" ] && kill "$demo_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$bin" demo serve --instances "$n" --scrape-interval "${every}s" \
  --prometheus-config "$work/prom.yml" >"$work/demo.out" 2>&1 &
demo_pid=$!
for _ in $(seq 600); do [ -s "$work/prom.yml" ] && break; sleep 0.1; done
[ -s "$work/prom.yml" ] || { echo "the demo fleet did not start:"; cat "$work/demo.out"; exit 1; }

port=$(free_port)
prom=http://127.0.0.1:$port
prometheus --config.file="$work/prom.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/prom.log" 2>&1 &
prom_pid=$!
q() { curl -sG "$prom/api/v1/query" --data-urlencode "query=$1" | python3 -c \
  'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'; }
echo "waiting for Prometheus to scrape $n instances three times…"
for _ in $(seq 300); do
  up=$(q "count(count_over_time(up[1h]) >= 3)" 2>/dev/null || echo 0)
  [ "${up%.*}" -ge "$n" ] 2>/dev/null && break
  sleep 1
done
echo "prometheus: $(q 'count(up == 1)') of $n instances up"
# A store in production has been running for a while: let this one settle too.
sleep $((every * 4))

{
  for preset in community-node overlay mail rest-api; do
    cat <<TOML
[[fleet]]
name = "$preset"
url = "$prom"
preset = "$preset"
selector = 'job="$preset"'
name_label = "target"
interval = "${every}s"
timeout = "${every}s"
window = "$((every * 6))s"

TOML
  done
} >"$work/watchdeck.toml"

# Prometheus' own request counters, read from its /metrics (it does not scrape itself here).
requests() { curl -s "$prom/metrics" | awk '/^prometheus_http_requests_total\{.*handler="\/api\/v1\/query(_range)?"/ {n += $2} END {print n + 0}'; }
before_start=$(requests)
start_ns=$(date +%s%N)
tmux new-session -d -s "$session" -x 200 -y 60 \
  "XDG_STATE_HOME=$work/state WATCHDECK_LOG=watchdeck::source::fleet=debug $bin --config $work/watchdeck.toml --no-mouse; sleep 600"
first=""
pid=""
for _ in $(seq 1500); do
  if tmux capture-pane -t "$session" -p -E 0 2>/dev/null | grep -q " $n/$n targets up"; then
    first=$(( ($(date +%s%N) - start_ns) / 1000000 ))
    up_s=$(cut -d' ' -f1 /proc/uptime)
    break
  fi
  [ -n "$pid" ] || pid=$(pgrep -f -n "^$bin --config $work/watchdeck.toml" || true)
  sleep 0.02
done
[ -n "$pid" ] || pid=$(pgrep -f -n "^$bin --config $work/watchdeck.toml")
[ -n "$first" ] || { echo "no complete frame within 30 s:"; tmux capture-pane -t "$session" -p | head -5; exit 1; }
# The process's own start (exec), from /proc: tmux and the shell take their share before it.
age_ms=$(awk -v up="$up_s" -v hz="$(getconf CLK_TCK)" '{printf "%d", (up - $22 / hz) * 1000}' "/proc/$pid/stat")
echo "first complete frame: ${age_ms} ms after the cockpit process started (${first} ms after tmux was asked to start it; $n/$n targets up on screen)"
# Let the start (backfill, first rounds) settle, then measure whole refreshes.
sleep "$every"
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks); r0=$(requests); s0=$(date +%s%N)
sleep "$secs"
t1=$(ticks); r1=$(requests); s1=$(date +%s%N)
hz=$(getconf CLK_TCK)
python3 - "$t0" "$t1" "$hz" "$s0" "$s1" "$every" "$r0" "$r1" "$before_start" <<'PY'
import sys
t0, t1, hz, s0, s1, every, r0, r1, b0 = sys.argv[1:]
cpu_s = (int(t1) - int(t0)) / int(hz)
wall = (int(s1) - int(s0)) / 1e9
refreshes = wall / int(every)
print(f"measured {wall:.0f} s = {refreshes:.1f} refreshes of {every} s")
print(f"cockpit CPU: {cpu_s:.2f} s = {cpu_s / refreshes * 1000:.0f} ms per refresh ({cpu_s / wall * 100:.1f} % of one core)")
print(f"queries per refresh: {(float(r1) - float(r0)) / refreshes:.1f} (all four fleets; {float(r0) - float(b0):.0f} in the start-up, backfill included)")
PY
grep -E '^Vm(RSS|HWM)' "/proc/$pid/status" | sed 's/^/cockpit /'
# Where the first frame's time went: each fleet's first round, from the cockpit's log.
grep -h 'fleet round.* round=1 ' "$work"/state/watchdeck/*.log 2>/dev/null \
  | sed -E 's/.*fleet=([0-9]+).*instances=([0-9]+).*queries=([0-9]+).* ms=([0-9]+).*/first round of fleet \1: \2 instances, \3 queries answered in \4 ms/' || true
echo "screen:"
tmux capture-pane -t "$session" -p | head -8
