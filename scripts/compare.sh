#!/usr/bin/env bash
# compare.sh measures splice cat and splice tee against the tools people use:
# GNU cat and tee (coreutils), uutils cat and tee (rust-coreutils, run as
# "coreutils cat"), and pv -q, on the same input, in one run with the
# repetitions interleaved (tool after tool, rep after rep) so that the noise of
# a shared machine falls on all of them alike. Then scripts/compare_proxy.sh,
# if it exists.
#
# Scenarios (input: SIZE_MB MiB of random bytes in /dev/shm, outputs there):
#   cat file->pipe   TOOL in | DRAIN
#   cat pipe->pipe   splice cat in | TOOL | DRAIN
#   cat file->file   TOOL in > out
#   tee 1 file       TOOL o1 < in | DRAIN
#   tee 3 files      TOOL o1 o2 o3 < in | DRAIN
# DRAIN is "splice cat > /dev/null": it splices the pipe into /dev/null, which
# takes the pages without touching them, so it is not the bottleneck (its own
# CPU time is printed beside each pipe row). splice cat grows the pipes on its
# stdin and stdout to 1 MiB, so as feeder and drain it gives every tool the
# same 1 MiB pipes: the rows compare the tools on equal pipes, not splice
# cat's resizing (which a consumer that does not resize would also see).
# (pv -q as the drain is no good: on a 64 KiB pipe it is slower than every
# tool here, and the rows would measure pv.)
#
# For each tool: the median wall time of the whole pipeline (min-max over the
# reps), throughput, and the tool's own CPU time (user+sys, from
# /usr/bin/time) per GB (10^9 bytes). Nothing is installed; a tool that is
# missing is named and skipped.
#
# Usage: scripts/compare.sh            (from the repository root)
#        SIZE_MB=256 REPS=3 scripts/compare.sh
#        COMPARE_PROXY=0 scripts/compare.sh   (cat and tee only)
set -euo pipefail

SIZE_MB=${SIZE_MB:-1024}
REPS=${REPS:-5}
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }
for t in go /usr/bin/time; do
	if ! need "$t"; then
		echo "compare.sh: $t is required and missing" >&2
		exit 1
	fi
done

tmp=$(mktemp -d)
shm=$(mktemp -d /dev/shm/compare.XXXXXX)
trap 'rm -rf "$tmp" "$shm"' EXIT

go build -o "$tmp/splice" ./cmd/splice
S="$tmp/splice"

# The tools, as "label|command".
cats=("splice cat|$S cat")
tees=("splice tee|$S tee")
missing=()
if [ -x /usr/bin/cat ]; then cats+=("GNU cat|/usr/bin/cat"); else missing+=("GNU cat (coreutils)"); fi
if [ -x /usr/bin/tee ]; then tees+=("GNU tee|/usr/bin/tee"); else missing+=("GNU tee (coreutils)"); fi
if need coreutils && coreutils cat </dev/null >/dev/null 2>&1; then
	cats+=("uutils cat|coreutils cat")
	tees+=("uutils tee|coreutils tee")
else
	missing+=("uutils (apt-get install rust-coreutils)")
fi
if need pv; then cats+=("pv -q|pv -q"); else missing+=("pv (apt-get install pv)"); fi
for m in "${missing[@]+"${missing[@]}"}"; do echo "compare.sh: missing, skipped: $m" >&2; done

in="$shm/in"
head -c $((SIZE_MB << 20)) /dev/urandom >"$in"
bytes=$((SIZE_MB << 20))
DRAIN="$S cat"

# run SCENARIO LABEL CMD: one rep; appends "wall cpu draincpu" to the
# scenario's and label's record.
run() {
	local scen=$1 label=$2 cmd=$3
	local rec="$tmp/rec.$(echo "$scen|$label" | md5sum | cut -c1-12)"
	echo "$scen|$label" >"$rec.name"
	local T="/usr/bin/time -f %e_%U_%S -o $tmp/tool"
	local D="/usr/bin/time -f %e_%U_%S -o $tmp/drain $DRAIN"
	echo "0_0_0" >"$tmp/drain"
	rm -f "$shm"/o1 "$shm"/o2 "$shm"/o3 "$shm"/out
	local script
	case $scen in
	"cat file->pipe") script="$T $cmd '$in' | $D >/dev/null" ;;
	"cat pipe->pipe") script="$S cat '$in' | $T $cmd | $D >/dev/null" ;;
	"cat file->file") script="$T $cmd '$in' >'$shm/out'" ;;
	"tee 1 file") script="$T $cmd '$shm/o1' <'$in' | $D >/dev/null" ;;
	"tee 3 files") script="$T $cmd '$shm/o1' '$shm/o2' '$shm/o3' <'$in' | $D >/dev/null" ;;
	esac
	local t0 t1
	t0=$(date +%s%N)
	bash -c "set -o pipefail; $script"
	t1=$(date +%s%N)
	local tool drain
	tool=$(tr _ ' ' <"$tmp/tool")
	drain=$(tr _ ' ' <"$tmp/drain")
	# Check the bytes once per rep: the output must be the input.
	case $scen in
	"cat file->file") cmp -s "$in" "$shm/out" || { echo "compare.sh: $label: output differs" >&2; exit 1; } ;;
	tee*) cmp -s "$in" "$shm/o1" || { echo "compare.sh: $label: o1 differs" >&2; exit 1; } ;;
	esac
	echo "$(( (t1 - t0) / 1000000 )) $tool $drain" >>"$rec"
}

scenarios=("cat file->pipe" "cat pipe->pipe" "cat file->file" "tee 1 file" "tee 3 files")
echo "compare.sh: $SIZE_MB MiB, $REPS interleaved reps, drain splice cat; $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" >&2
for rep in $(seq "$REPS"); do
	echo "compare.sh: rep $rep of $REPS" >&2
	for scen in "${scenarios[@]}"; do
		if [[ $scen == cat* ]]; then tools=("${cats[@]}"); else tools=("${tees[@]}"); fi
		for t in "${tools[@]}"; do
			run "$scen" "${t%%|*}" "${t#*|}"
		done
	done
done

# median, min and max of a column of numbers on stdin
stats() { sort -n | awk '{v[NR]=$1} END {m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s %s %s\n", m, v[1], v[NR]}'; }

printf '\n%-16s %-12s %18s %9s %12s %12s\n' scenario tool "wall s (min-max)" "GB/s" "CPU s/GB" "drain s/GB"
for scen in "${scenarios[@]}"; do
	if [[ $scen == cat* ]]; then tools=("${cats[@]}"); else tools=("${tees[@]}"); fi
	for t in "${tools[@]}"; do
		label=${t%%|*}
		rec="$tmp/rec.$(echo "$scen|$label" | md5sum | cut -c1-12)"
		read -r wm wlo whi < <(awk '{print $1/1000}' "$rec" | stats)
		read -r cm _ _ < <(awk '{print $3+$4}' "$rec" | stats)
		read -r dm _ _ < <(awk '{print $6+$7}' "$rec" | stats)
		awk -v s="$scen" -v l="$label" -v wm="$wm" -v wlo="$wlo" -v whi="$whi" -v cm="$cm" -v dm="$dm" -v b="$bytes" -v pipe="$([[ $scen == *pipe* || $scen == tee* ]] && echo 1 || echo 0)" 'BEGIN {
			gb = b / 1e9
			d = pipe ? sprintf("%12.3f", dm / gb) : sprintf("%12s", "-")
			printf "%-16s %-12s %6.3f (%.3f-%.3f) %9.2f %12.3f %s\n", s, l, wm, wlo, whi, gb / wm, cm / gb, d
		}'
	done
done

if [ "${COMPARE_PROXY:-1}" != 0 ] && [ -f scripts/compare_proxy.sh ]; then
	echo
	bash scripts/compare_proxy.sh
fi
