// bench spawn: start 1 000 000 goroutines that each call wg.Done(), wait for all; ms.
package main

import (
	"fmt"
	"gortbench/benchtrace"
	"os"
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

func main() {
	stop := benchtrace.Start()
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
