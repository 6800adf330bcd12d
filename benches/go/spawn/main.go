// bench spawn: start 1 000 000 goroutines that each call wg.Done(), wait for all; ms.
package main

import (
	"fmt"
	"os"
	"runtime/trace"
	"strconv"
	"sync"
	"time"
)

// N, or BENCH_N from the environment (cargo xtask bench --instructions runs two sizes).
var N = benchN(1_000_000)

func benchN(def int) int {
	if v, err := strconv.Atoi(os.Getenv("BENCH_N")); err == nil {
		return v
	}
	return def
}

// startTrace starts Go's execution tracer into BENCH_TRACE when that is set (the
// `+gotrace` rows: gort's tracer against Go's on the same workload); the returned func stops it.
func startTrace() func() {
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

func main() {
	stop := startTrace()
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(N)
	for i := 0; i < N; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	ns := time.Since(t0).Nanoseconds()
	stop()
	fmt.Printf("RESULT spawn %.1f ms\n", float64(ns)/1e6)
}
