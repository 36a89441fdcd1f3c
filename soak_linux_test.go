//go:build !splice_portable

package splice_test

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/splicekit/splice"
	"github.com/splicekit/splice/internal/testutil"
)

var soakFlag = flag.Duration("soak", 0, "TestSoak: how long to run copies with faults (0: skip the test); also "+soakEnv)

// soakEnv gives TestSoak's duration where the flag cannot be passed.
const soakEnv = "SPLICE_SOAK"

// TestSoak runs TestChaos's rounds (1,000 concurrent copies with faults and
// refusals, then a clean round) one after another for the duration given by
// -soak (or SPLICE_SOAK), and reports the copies, the bytes, the errors by
// kind, the bytes lost (see chaosStats.judge for the definition) and the fds,
// goroutines and RSS at the start and the end. It fails if a byte was lost,
// duplicated or crossed into another copy, if any check of a copy failed, or
// if an fd or a goroutine outlived the copies. It skips without -soak:
// scripts/soak.sh runs it, outside CI. The refusals are a process-wide hook:
// TestSoak is not parallel, so no other test runs beside it.
func TestSoak(t *testing.T) {
	d := *soakFlag
	if s := os.Getenv(soakEnv); d == 0 && s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("%s=%q: %v", soakEnv, s, err)
		}
	}
	if d <= 0 {
		t.Skipf("no -soak=DURATION (or %s): scripts/soak.sh DURATION runs the soak", soakEnv)
	}
	seed := chaosSeed(t, "SOAK_SEED=%d scripts/soak.sh "+d.String())
	chaos, clean := chaosConfigs(testing.Short())
	chaos.quiet, clean.quiet = true, true

	splice.DrainPipePool()
	fds0, goroutines0 := soakFDs(t), runtime.NumGoroutine()
	rss0, _ := chaosRSS()
	checkFDs := testutil.CheckFDs(t)
	start := time.Now()
	t.Logf("soak: %v from %s, seed %d, %d copies with faults and %d without a round; %d CPUs, %s, %s/%s, euid %d",
		d, start.Format(time.RFC3339), seed, chaos.copies, clean.copies, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, os.Geteuid())

	var st chaosStats
	rounds, failedRounds := 0, 0
	nextReport := start.Add(time.Minute)
	for round := uint64(0); time.Since(start) < d; round += 2 {
		ok := t.Run(fmt.Sprintf("round%d", rounds), func(t *testing.T) {
			st.add(chaosRound(t, seed, round, chaos))
			st.add(chaosRound(t, seed, round+1, clean))
		})
		rounds++
		if !ok {
			failedRounds++
		}
		if now := time.Now(); now.After(nextReport) || time.Since(start) >= d {
			nextReport = now.Add(time.Minute)
			rss, peak := chaosRSS()
			t.Logf("soak: %v: %d rounds, %d copies, %s; %d lost, %d duplicated, %d crossed, %d failed checks; fds %d, goroutines %d, RSS %d MiB (peak %d)",
				time.Since(start).Round(time.Second), rounds, st.copies, soakBytes(st.bytes), st.lost, st.dup, st.crossed, st.failures,
				soakFDs(t), runtime.NumGoroutine(), rss>>20, peak>>20)
		}
	}
	elapsed := time.Since(start)

	// The end: the fds once the idle engine pipes have timed out by
	// themselves (a second idle; waited for up to 5 s), then the leak check
	// with the pool drained.
	fdsIdle := soakFDs(t)
	for deadline := time.Now().Add(5 * time.Second); fdsIdle > fds0 && time.Now().Before(deadline); fdsIdle = soakFDs(t) {
		time.Sleep(50 * time.Millisecond)
	}
	splice.DrainPipePool()
	checkFDs()
	chaosSettle(t, goroutines0)
	fds1, goroutines1 := soakFDs(t), runtime.NumGoroutine()
	rss1, peak := chaosRSS()

	var b strings.Builder
	fmt.Fprintf(&b, "soak: %v (asked %v), seed %d\n", elapsed.Round(time.Second), d, seed)
	fmt.Fprintf(&b, "soak: %d rounds (%d failed), %d copies (%d with faults and refusals), %s delivered and checked\n",
		rounds, failedRounds, st.copies, rounds*chaos.copies, soakBytes(st.bytes))
	fmt.Fprintf(&b, "soak: copies by fault and outcome, refusals by call:\n%s", st.table())
	fmt.Fprintf(&b, "soak: bytes lost %d, duplicated %d; copies crossed %d, miscounted %d; failed checks %d (%d bytes discarded by copies without Unwritten, as documented)\n",
		st.lost, st.dup, st.crossed, st.miscounted, st.failures, st.discarded)
	fmt.Fprintf(&b, "soak: fds %d at the start; at the end %d once the idle pipes had timed out, %d with the pool drained; goroutines %d at the start, %d at the end\n",
		fds0, fdsIdle, fds1, goroutines0, goroutines1)
	fmt.Fprintf(&b, "soak: RSS %d MiB at the start, %d MiB at the end, peak %d MiB", rss0>>20, rss1>>20, peak>>20)
	t.Log(b.String())
	if st.lost != 0 || st.dup != 0 || st.crossed != 0 || st.miscounted != 0 || st.failures != 0 || failedRounds != 0 {
		t.Errorf("soak: %d bytes lost, %d duplicated, %d copies crossed, %d miscounted, %d failed checks, %d failed rounds",
			st.lost, st.dup, st.crossed, st.miscounted, st.failures, failedRounds)
	}
}

// soakFDs returns how many fds are open, less those the runtime keeps.
func soakFDs(t *testing.T) int {
	fds, err := testutil.OpenFDs()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, target := range fds {
		if target != "anon_inode:[eventpoll]" && target != "anon_inode:[eventfd]" && !strings.Contains(target, "pidfd") {
			n++
		}
	}
	return n
}

// soakBytes formats a byte count.
func soakBytes(n int64) string {
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
