// Package testutil is the test harness shared by the copy tests of package
// splice and its subpackages.
//
// It provides:
//
//   - endpoint factories: [NewSource] and [NewSink] build an endpoint of any
//     [Kind] (regular file, os.Pipe, splice.Pipe, TCP and Unix stream sockets,
//     a blocking pipe that is not registered with Go's poller, /dev/null,
//     io.LimitedReader wrappers and plain in-memory readers and writers), so a
//     table test can run every source kind against every sink kind;
//   - connected pairs for direct tests: [TCPPair], [UnixPair], [OSPipePair],
//     [BlockingPipePair], [TempFile];
//   - deterministic data: [Data], boundary [Sizes], and [Equal], which reports
//     a mismatch without dumping megabytes;
//   - leak checks: [Main] for TestMain (file descriptors and goroutines),
//     [OpenFDs] and [CheckFDs] for a single test.
//
// Every endpoint is owned by the test that made it: whatever the harness
// opened is closed, and every goroutine it started has returned, by the time
// the test's cleanups have run, even when the test fails early.
//
// The harness imports package splice (for the [Pipe] kind), so it can be
// used only from external test packages (package splice_test), never from
// tests inside package splice itself.
package testutil
