// bench skynet: the skynet 1M benchmark: a 10-way tree of goroutines over unbuffered channels
// down to 1 000 000 leaves (or BENCH_N, a power of ten), each sending its number; the sums
// flow back up. ms.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

const div = 10

// size, or BENCH_N from the environment (cargo xtask bench --instructions runs two sizes).
var size = benchN(1_000_000)

func benchN(def uint64) uint64 {
	if v, err := strconv.ParseUint(os.Getenv("BENCH_N"), 10, 64); err == nil {
		return v
	}
	return def
}

func skynet(out chan<- uint64, num, size uint64) {
	if size == 1 {
		out <- num
		return
	}
	rc := make(chan uint64)
	sub := size / div
	for i := uint64(0); i < div; i++ {
		go skynet(rc, num+i*sub, sub)
	}
	var sum uint64
	for i := 0; i < div; i++ {
		sum += <-rc
	}
	out <- sum
}

func main() {
	t0 := time.Now()
	c := make(chan uint64)
	go skynet(c, 0, size)
	sum := <-c
	ns := time.Since(t0).Nanoseconds()
	if sum != size*(size-1)/2 {
		fmt.Println("skynet: wrong sum", sum)
		os.Exit(1)
	}
	fmt.Printf("RESULT skynet %.1f ms\n", float64(ns)/1e6)
}
