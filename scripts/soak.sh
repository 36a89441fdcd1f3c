#!/usr/bin/env bash
# soak.sh runs the package's chaos rounds for DURATION (a Go duration: 90s,
# 10m, 1h30m), outside CI: round after round of 1,000 concurrent copies (Copy,
# CopyN, a Copier with Progress and Unwritten, CopyMulti into 2-3
# destinations) over mixed pairs of TCP and Unix sockets, regular files,
# os.Pipe pipes and splice.Pipes, with random peer resets, deadlines that
# expire mid-copy, concurrent Closes, Progress callbacks that panic and the
# kernel refusing a share of the splice, tee, sendfile and copy_file_range
# calls, each round followed by a round of copies without faults. Every byte
# of every copy is checked. It is TestSoak (soak_linux_test.go) over TestChaos's
# machinery (chaos_linux_test.go).
#
# It prints, every minute and at the end: copies, bytes, errors by kind, bytes
# lost (bytes taken from a source that reached neither the destination nor
# Unwritten nor were left unread, where that is knowable: see chaosStats.judge),
# and the fds, goroutines and RSS at the start and at the end, with the peak
# RSS. The exit status is non-zero if a byte was lost, duplicated or crossed
# into another copy's stream, if any check of a copy failed, or if an fd or a
# goroutine outlived the copies.
#
# Usage: scripts/soak.sh DURATION [test binary flags...]   (from anywhere)
#        SOAK_SEED=N scripts/soak.sh 10m      rerun the plan of seed N
#        SOAK_RACE=1 scripts/soak.sh 10m      under the race detector
#        scripts/soak.sh 10m -test.short      250 copies a round
set -euo pipefail

if [ $# -lt 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DURATION [test binary flags...]   (DURATION: 90s, 10m, 1h30m)" >&2
	exit 2
fi
duration=$1
shift
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build=()
if [ -n "${SOAK_RACE:-}" ]; then
	build+=(-race)
fi
go test -c "${build[@]}" -o "$tmp/splice.test" .

flags=(-test.run '^TestSoak$' -test.v -test.count=1 -test.timeout=0 "-soak=$duration")
if [ -n "${SOAK_SEED:-}" ]; then
	flags+=("-chaos.seed=$SOAK_SEED")
fi
echo "soak.sh: $(go version), $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), euid $(id -u)"
# The test's temporary files go to $TMPDIR (default /tmp).
set +e
"$tmp/splice.test" "${flags[@]}" "$@"
status=$?
set -e
if [ $status -eq 0 ]; then
	echo "soak.sh: PASS"
else
	echo "soak.sh: FAIL (exit status $status)"
fi
exit $status
