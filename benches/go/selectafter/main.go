// bench selectafter: a loop whose select has a ready channel arm and a time.After arm that never
// fires; ns per iteration.
package main

import (
	"fmt"
	"time"
)

const N = 1_000_000

func main() {
	ch := make(chan uint64, 1)
	t0 := time.Now()
	var sum uint64
	for i := uint64(0); i < N; i++ {
		ch <- i
		select {
		case v := <-ch:
			sum += v
		case <-time.After(time.Hour):
			panic("fired")
		}
	}
	ns := time.Since(t0).Nanoseconds()
	if sum != N*(N-1)/2 {
		panic("sum")
	}
	fmt.Printf("RESULT selectafter %.1f ns/op\n", float64(ns)/float64(N))
}
