// Package benchtrace starts Go's execution tracer for a bench twin when BENCH_TRACE is set (the
// `+gotrace` rows of `cargo xtask bench`: gort's tracer against Go's on the same workload).
package benchtrace

import (
	"fmt"
	"os"
	"runtime/trace"
)

// Start starts tracing into BENCH_TRACE when it is set; the returned func stops it.
func Start() func() {
	path := os.Getenv("BENCH_TRACE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Println("BENCH_TRACE:", err)
		os.Exit(1)
	}
	if err := trace.Start(f); err != nil {
		fmt.Println("trace.Start:", err)
		os.Exit(1)
	}
	return func() {
		trace.Stop()
		f.Close()
	}
}
