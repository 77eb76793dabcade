#!/usr/bin/env bash
# Network data-plane benchmark, one command, one table (root; uses the lab):
#   bench/net_bench.sh            prints the table and rewrites docs/network-benchmark.md
# It measures, in the lab topology (scripts/lab, prefix sgb-):
#   - TCP throughput (iperf3) client -> internet server through the gateway
#     (routed + masquerade) vs the direct veth between the same namespaces;
#   - new TCP connections per second on both paths (spectra-net connrate);
#   - the time to apply 1,000 port forwards and 10,000 firewall rules
#     (spectra-net bench-apply: validate + atomic commit through libnftables).
# Knobs: NET_BENCH_SECONDS (iperf3 run, default 5), NET_BENCH_REPEAT (default 3,
# the median is kept), SPECTRA_NET_TOOL (path to spectra-net).
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
prefix="sgb-"
seconds="${NET_BENCH_SECONDS:-5}"
repeat="${NET_BENCH_REPEAT:-3}"
doc="$here/docs/network-benchmark.md"
lab="$here/scripts/lab"

if [ "$(id -u)" -ne 0 ]; then echo "net_bench: needs root (network namespaces)" >&2; exit 1; fi
command -v iperf3 >/dev/null || { echo "net_bench: iperf3 missing (scripts/install-deps)" >&2; exit 1; }

tool="${SPECTRA_NET_TOOL:-}"
if [ -z "$tool" ]; then
  for d in build/release build/h-net-release build/debug build/h-net; do
    if [ -x "$here/$d/app/spectra-net/spectra-net" ]; then tool="$here/$d/app/spectra-net/spectra-net"; break; fi
  done
fi
[ -x "$tool" ] || { echo "net_bench: build the spectra-net target first" >&2; exit 1; }

pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  "$lab" down --prefix "$prefix" >/dev/null 2>&1 || true
}
trap cleanup EXIT

in_ns() { local n="$prefix$1"; shift; ip netns exec "$n" "$@"; }
bg_ns() { local n="$prefix$1"; shift; ip netns exec "$n" "$@" >/dev/null 2>&1 & pids+=($!); }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
median() { python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
wait_port() {  # wait_port ns port: until something listens (at most 5 s)
  local i
  for i in $(seq 50); do
    if [ -n "$(in_ns "$1" ss -Hltn "sport = :$2")" ]; then return 0; fi
    sleep 0.1
  done
  echo "net_bench: nothing listens on port $2 in $prefix$1" >&2
  return 1
}

load="$(cut -d' ' -f1 /proc/loadavg)"
"$lab" up --bare --prefix "$prefix" >/dev/null
cfg="$(mktemp)"
cat >"$cfg" <<'EOF'
{"network": {"egress_interface": "pub0", "l4_backend": "nftables",
  "snat": {"enabled": true, "mode": "masquerade", "source_cidrs": ["10.213.1.0/24"]}}}
EOF
in_ns gw "$tool" apply "$cfg" >/dev/null
rm -f "$cfg"

# Throughput.
bg_ns inet iperf3 -s -p 5201
wait_port inet 5201
gw_tp=() direct_tp=()
for _ in $(seq "$repeat"); do
  gw_tp+=("$(in_ns client iperf3 -c 198.18.0.2 -p 5201 -t "$seconds" -J | json "d['end']['sum_received']['bits_per_second']")")
  direct_tp+=("$(in_ns client iperf3 -c 10.213.9.2 -p 5201 -t "$seconds" -J | json "d['end']['sum_received']['bits_per_second']")")
done
gw_bps="$(median "${gw_tp[@]}")"
direct_bps="$(median "${direct_tp[@]}")"

# New connections per second (4 parallel clients, 3 s per run).
bg_ns inet "$tool" serve 0.0.0.0 9000 bench
wait_port inet 9000
gw_c=() direct_c=()
for _ in $(seq "$repeat"); do
  gw_c+=("$(in_ns client "$tool" connrate 198.18.0.2 9000 3 4 | json "d['per_second']")")
  direct_c+=("$(in_ns client "$tool" connrate 10.213.9.2 9000 3 4 | json "d['per_second']")")
done
gw_cps="$(median "${gw_c[@]}")"
direct_cps="$(median "${direct_c[@]}")"

# Apply times, in the gateway namespace (bench-apply removes its tables at the end).
pf_json="$(in_ns gw "$tool" bench-apply 1000 0)"
fw_json="$(in_ns gw "$tool" bench-apply 0 10000)"

row() { printf '| %-58s | %22s | %26s | %8s |\n' "$@"; }
fmt() { python3 -c "print(f'{float(\"$1\")$2}')"; }
apply_row() {  # apply_row label json key
  local j="$2"
  row "$1" "$(echo "$j" | json "f\"{d['$3']['total_ms']:.0f} ms (cpu {d['$3']['cpu_ms']:.0f})\"")" \
      "$(echo "$j" | json "f\"check {d['$3']['check_ms']:.0f} + commit {d['$3']['commit_ms']:.0f}\"")" \
      "$(echo "$j" | json "'ok' if d['$3']['ok'] else 'FAILED'")"
}
table="$(
  row "measure" "gateway" "direct / detail" "ratio"
  row "---" "---:" "---:" "---:"
  row "TCP throughput, iperf3 ${seconds}s, median of $repeat (Gbit/s)" "$(fmt "$gw_bps" "/1e9:.2f")" "$(fmt "$direct_bps" "/1e9:.2f")" "$(python3 -c "print(f'{$gw_bps/$direct_bps:.2f}')")"
  row "new TCP connections/s, 4 clients, median of $repeat" "$(fmt "$gw_cps" ":.0f")" "$(fmt "$direct_cps" ":.0f")" "$(python3 -c "print(f'{$gw_cps/$direct_cps:.2f}')")"
  apply_row "apply 1,000 port forwards (empty kernel, total)" "$pf_json" initial
  apply_row "re-apply 1,000 port forwards, every target changed" "$pf_json" one_rule_per_batch_changed
  apply_row "apply 10,000 firewall rules (empty kernel, total)" "$fw_json" initial
  apply_row "re-apply 10,000 firewall rules, all changed" "$fw_json" one_rule_per_batch_changed
  apply_row "re-apply 10,000 firewall rules unchanged (no-op)" "$fw_json" unchanged
)"
echo "$table"

head="$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
build="$(basename "$(dirname "$(dirname "$(dirname "$tool")")")")"
cat >"$doc" <<EOF
# Network data plane benchmark

Commit: \`<commit>\` (fill in when committed; measured on a working tree based on \`$head\`)
Measured: $(date -u +%Y-%m-%d), kernel $(uname -r), $(nproc) vCPUs, nftables $(nft --version | awk '{print $2}'),
spectra-net from \`$build\`. Reproduce: \`sudo bench/net_bench.sh\` (about a minute).

$table

How it is measured:

- Topology: \`scripts/lab\` (namespaces \`sgb-client\`, \`sgb-gw\`, \`sgb-inet\`, veth pairs). The gateway
  path is client → gw (IP forwarding, \`inet spectra_filter\` with SNAT accounting, \`ip spectra_nat\`
  masquerade) → internet; the direct path is a veth between the same two namespaces. Ratio =
  gateway / direct; the gateway path has one more veth hop and a routing + conntrack + NAT step.
- Throughput: one iperf3 TCP stream, receiver bits/s. New connections: \`spectra-net connrate\`, 4 threads
  opening a connection, reading one line and closing it with a reset (so TIME_WAIT never throttles
  the run), back to back.
- Apply: \`spectra-net bench-apply\` runs the real reconciler in \`sgb-gw\`: read back the tables
  (\`nft -j list table\`; skipped when the kernel's ruleset generation id shows no commit since the
  reconciler's own), diff, render, validate (libnftables dry run) and commit one atomic
  transaction. "check + commit" is the wall time inside libnftables; the total adds read-back, diff and
  rendering. "(cpu N)" is the process's CPU time for the whole apply (the kernel handles an nft batch in
  the sender's context, so this is close to the wall time on an idle machine). Firewall rules: one source CIDR and one port each (lists longer than 4 values become
  anonymous sets, which cost the kernel far more to create at this scale).
- Shared 2-vCPU VM with other jobs running (load average at the start of the run: $load): wall times
  and rates vary run to run; compare the CPU column for apply cost.
EOF
echo "wrote $doc"
