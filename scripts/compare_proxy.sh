#!/usr/bin/env bash
# compare_proxy.sh: splice proxy against socat and HAProxy (with option
# splice-auto, and with splice forced both ways), forwarding to the
# same local HTTP upstream, under curl (bulk download) and wrk (many small
# requests). Outside CI; installs nothing, says what is missing and skips it.
#
# For each proxy it reports throughput and the CPU seconds each proxy process
# spent per GiB forwarded (utime+stime, children included, from /proc/PID/stat
# before and after each run), as the median and the spread (min-max) of
# interleaved reps: rep 1 of every proxy, then rep 2 of every proxy, ...
#
# Usage: scripts/compare_proxy.sh   (from the repository root)
# Environment: SIZE_MIB (bulk file, default 1024), REPS (default 5),
# WRK_SECONDS (default 5), WRK_CONNS (default 50), SMALL_BYTES (default 4096).
#
# The upstream is a tiny Go file server (net/http, sendfile from /dev/shm),
# built from source written below into a temporary directory; the clients,
# the upstream and the proxy share the machine, so read the figures as a
# comparison on this machine, not as any proxy's ceiling.
set -u -o pipefail

SIZE_MIB=${SIZE_MIB:-1024}
REPS=${REPS:-5}
WRK_SECONDS=${WRK_SECONDS:-5}
WRK_CONNS=${WRK_CONNS:-50}
SMALL_BYTES=${SMALL_BYTES:-4096}

root=$(cd "$(dirname "$0")/.." && pwd)
say() { printf '%s\n' "$*" >&2; }

missing=()
for tool in go curl; do
	command -v "$tool" >/dev/null || { say "compare_proxy: $tool not found: cannot run"; exit 1; }
done
have_socat=0 have_haproxy=0 have_wrk=0
command -v socat >/dev/null && have_socat=1 || missing+=("socat (apt-get install -y socat)")
command -v haproxy >/dev/null && have_haproxy=1 || missing+=("haproxy (apt-get install -y haproxy)")
command -v wrk >/dev/null && have_wrk=1 || missing+=("wrk (apt-get install -y wrk)")
for m in "${missing[@]}"; do say "compare_proxy: missing $m: skipped"; done

shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$shm/compare_proxy.XXXXXX") || exit 1
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The upstream: serves $tmp/www, prints its address; -ports N prints N free
# loopback ports instead.
mkdir -p "$tmp/upstream" "$tmp/www"
cat >"$tmp/upstream/go.mod" <<'EOF'
module upstream

go 1.22
EOF
cat >"$tmp/upstream/main.go" <<'EOF'
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	dir := flag.String("dir", ".", "directory to serve")
	ports := flag.Int("ports", 0, "print this many free loopback ports and exit")
	flag.Parse()
	if *ports > 0 {
		var lns []net.Listener
		for range *ports {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			lns = append(lns, ln)
			fmt.Println(ln.Addr().(*net.TCPAddr).Port)
		}
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	os.Stdout.Close()
	http.Serve(ln, http.FileServer(http.Dir(*dir)))
}
EOF
(cd "$tmp/upstream" && GOFLAGS= go build -o "$tmp/upstream.bin" .) || { say "compare_proxy: cannot build the upstream"; exit 1; }
(cd "$root" && go build -o "$tmp/splice" ./cmd/splice) || { say "compare_proxy: cannot build cmd/splice"; exit 1; }

say "compare_proxy: writing a ${SIZE_MIB} MiB file and a ${SMALL_BYTES} B file in $shm"
head -c "$((SIZE_MIB << 20))" /dev/urandom >"$tmp/www/big" || exit 1
head -c "$SMALL_BYTES" /dev/urandom >"$tmp/www/small" || exit 1

"$tmp/upstream.bin" -dir "$tmp/www" >"$tmp/upstream.addr" &
pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/upstream.addr" ] && break; sleep 0.1; done
up=$(cat "$tmp/upstream.addr")
[ -n "$up" ] || { say "compare_proxy: the upstream did not start"; exit 1; }
mapfile -t ports < <("$tmp/upstream.bin" -ports 3)

# The proxies, each on its own port; names and addresses in parallel arrays.
names=(direct) addrs=("$up") procs=("")

"$tmp/splice" proxy -listen 127.0.0.1:0 -to "$up" 2>"$tmp/splice.log" &
pids+=($!)
splice_pid=$!
for _ in $(seq 50); do grep -q 'listening on' "$tmp/splice.log" 2>/dev/null && break; sleep 0.1; done
splice_addr=$(sed -n 's/.*listening on //p' "$tmp/splice.log" | head -1)
[ -n "$splice_addr" ] || { say "compare_proxy: splice proxy did not start:"; cat "$tmp/splice.log" >&2; exit 1; }
names+=("splice proxy") addrs+=("$splice_addr") procs+=("$splice_pid")

if [ "$have_socat" = 1 ]; then
	socat "TCP-LISTEN:${ports[0]},bind=127.0.0.1,fork,reuseaddr,backlog=1024" "TCP:$up" 2>"$tmp/socat.log" &
	pids+=($!)
	names+=("socat $(socat -V | sed -n 's/^socat version \([^ ]*\).*/\1/p')") addrs+=("127.0.0.1:${ports[0]}") procs+=($!)
fi
# HAProxy twice: with "option splice-auto" as asked, and with splice forced
# both ways (splice-request, splice-response): HAProxy 2.6 in TCP mode was
# seen not to splice at all under splice-auto (strace: recvfrom/sendto only).
if [ "$have_haproxy" = 1 ]; then
	hver=$(haproxy -v | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p')
	for variant in auto forced; do
		port=${ports[1]} opts="option splice-auto"
		if [ "$variant" = forced ]; then
			port=${ports[2]} opts=$(printf 'option splice-request\n\toption splice-response')
		fi
		cat >"$tmp/haproxy-$variant.cfg" <<EOF
global
	maxconn 4096
defaults
	mode tcp
	$opts
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend f
	bind 127.0.0.1:$port
	default_backend b
backend b
	server up $up
EOF
		haproxy -db -f "$tmp/haproxy-$variant.cfg" 2>"$tmp/haproxy-$variant.log" &
		pids+=($!)
		label="splice-auto"
		[ "$variant" = forced ] && label="splice-request+response"
		names+=("haproxy $hver $label") addrs+=("127.0.0.1:$port") procs+=($!)
	done
fi
sleep 0.5
for i in "${!names[@]}"; do
	if [ -n "${procs[$i]}" ] && ! kill -0 "${procs[$i]}" 2>/dev/null; then
		say "compare_proxy: ${names[$i]} exited:"; cat "$tmp"/*.log >&2; exit 1
	fi
	curl -sf -o /dev/null "http://${addrs[$i]}/small" || { say "compare_proxy: no answer through ${names[$i]}"; exit 1; }
done

hz=$(getconf CLK_TCK)
# cpu PID: the process's user+system CPU ticks, its waited-for children's included.
cpu() {
	[ -n "$1" ] || { echo 0; return; }
	# Fields after the parenthesised command: utime is 14, stime 15, cutime 16, cstime 17.
	sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13 + $14 + $15}'
}

# settle PID: wait (at most 2 s) until the process has no child left, so that
# socat's per-connection children are reaped and their CPU time counted.
settle() {
	[ -n "$1" ] || return 0
	for _ in $(seq 20); do
		[ -z "$(cat /proc/"$1"/task/*/children 2>/dev/null | tr -d ' ')" ] && return 0
		sleep 0.1
	done
}

# stats: "median (min-max)" of the numbers on stdin, one a line.
stats() {
	sort -g | awk '{v[NR] = $1} END {
		if (NR == 0) { print "-"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		f = (v[NR] >= 100) ? "%.0f (%.0f-%.0f)" : "%.3g (%.3g-%.3g)"
		printf f, m, v[1], v[NR]
	}'
}

: >"$tmp/bulk.dat"
say "compare_proxy: bulk: curl, ${SIZE_MIB} MiB, $REPS interleaved reps"
for rep in $(seq "$REPS"); do
	for i in "${!names[@]}"; do
		c0=$(cpu "${procs[$i]}")
		out=$(curl -sf -o /dev/null -w '%{size_download} %{time_total}' "http://${addrs[$i]}/big") || { say "curl through ${names[$i]} failed"; continue; }
		settle "${procs[$i]}"
		c1=$(cpu "${procs[$i]}")
		read -r bytes secs <<<"$out"
		[ "$bytes" = "$((SIZE_MIB << 20))" ] || say "compare_proxy: ${names[$i]}: got $bytes bytes"
		echo "$i $rep $bytes $secs $((c1 - c0))" >>"$tmp/bulk.dat"
	done
done

if [ "$have_wrk" = 1 ]; then
	: >"$tmp/wrk.dat"
	say "compare_proxy: small requests: wrk, ${WRK_CONNS} connections, ${WRK_SECONDS} s, ${SMALL_BYTES} B, $REPS interleaved reps"
	for rep in $(seq "$REPS"); do
		for i in "${!names[@]}"; do
			c0=$(cpu "${procs[$i]}")
			out=$(wrk -t2 -c"$WRK_CONNS" -d"${WRK_SECONDS}s" "http://${addrs[$i]}/small" 2>&1)
			settle "${procs[$i]}"
			c1=$(cpu "${procs[$i]}")
			reqs=$(awk '/requests in/ {print $1}' <<<"$out")
			rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
			errs=$(awk '/Non-2xx|Socket errors/' <<<"$out")
			[ -z "$errs" ] || say "compare_proxy: wrk through ${names[$i]}: $errs"
			echo "$i $rep ${reqs:-0} ${rps:-0} $((c1 - c0))" >>"$tmp/wrk.dat"
		done
	done
fi

echo
echo "## splice proxy vs socat vs HAProxy ($(uname -srm), $(nproc) CPUs, $(date -u +%Y-%m-%d))"
echo
echo "Bulk: curl downloads ${SIZE_MIB} MiB through each proxy from a Go upstream (sendfile from $shm)."
echo "Median (min-max) of $REPS interleaved reps; CPU is the proxy process's user+system time."
echo
echo "| proxy | MiB/s | CPU s/GiB |"
echo "| --- | --- | --- |"
for i in "${!names[@]}"; do
	thr=$(awk -v i="$i" '$1 == i && $4 > 0 {print $3 / 1048576 / $4}' "$tmp/bulk.dat" | stats)
	if [ -n "${procs[$i]}" ]; then
		cpg=$(awk -v i="$i" -v hz="$hz" '$1 == i && $3 > 0 {print $5 / hz / ($3 / 1073741824)}' "$tmp/bulk.dat" | stats)
	else
		cpg="(no proxy)"
	fi
	echo "| ${names[$i]} | $thr | $cpg |"
done
if [ "$have_wrk" = 1 ]; then
	echo
	echo "Small requests: wrk -t2 -c${WRK_CONNS} -d${WRK_SECONDS}s, ${SMALL_BYTES} B responses, keep-alive."
	echo
	echo "| proxy | requests/s | CPU ms per 1000 requests |"
	echo "| --- | --- | --- |"
	for i in "${!names[@]}"; do
		rps=$(awk -v i="$i" '$1 == i {print $4}' "$tmp/wrk.dat" | stats)
		if [ -n "${procs[$i]}" ]; then
			cpr=$(awk -v i="$i" -v hz="$hz" '$1 == i && $3 > 0 {print $5 / hz * 1e6 / $3}' "$tmp/wrk.dat" | stats)
		else
			cpr="(no proxy)"
		fi
		echo "| ${names[$i]} | $rps | $cpr |"
	done
fi
if [ -n "${COMPARE_PROXY_RAW:-}" ]; then
	echo
	echo "raw bulk (index rep bytes seconds cpu-ticks):"; cat "$tmp/bulk.dat"
	[ -f "$tmp/wrk.dat" ] && { echo "raw wrk (index rep requests rps cpu-ticks):"; cat "$tmp/wrk.dat"; }
fi
exit 0
