// bench pingpong: round trips over two unbuffered channels; ns per round trip.
package main

import (
	"fmt"
	"gortbench/benchtrace"
	"os"
	"strconv"
	"time"
)

// N, or BENCH_N from the environment (cargo xtask bench --instructions runs two sizes).
var N = benchN(500_000)

func benchN(def int) int {
	if v, err := strconv.Atoi(os.Getenv("BENCH_N")); err == nil {
		return v
	}
	return def
}

func main() {
	stop := benchtrace.Start()
	ping := make(chan uint64)
	pong := make(chan uint64)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	t0 := time.Now()
	var v uint64
	for i := 0; i < N; i++ {
		ping <- v
		v = <-pong
	}
	ns := time.Since(t0).Nanoseconds()
	if v != uint64(N) {
		fmt.Println("pingpong: wrong count")
		os.Exit(1)
	}
	stop()
	fmt.Printf("RESULT pingpong %.1f ns/op\n", float64(ns)/float64(N))
}
