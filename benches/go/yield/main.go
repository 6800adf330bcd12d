// bench yield: one P, two goroutines each calling runtime.Gosched N times; ns per switch.
package main

import (
	"fmt"
	"os"
	"runtime"
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
	runtime.GOMAXPROCS(1)
	var wg sync.WaitGroup
	wg.Add(2)
	t0 := time.Now()
	for i := 0; i < 2; i++ {
		go func() {
			for j := 0; j < N; j++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	ns := time.Since(t0).Nanoseconds()
	fmt.Printf("RESULT yield %.1f ns/op\n", float64(ns)/float64(2*N))
}
