// bench ring: 100 000 goroutines in a ring of unbuffered channels pass one token 10 rounds
// (1 M hand-offs); ns per hand-off, the ring's set-up not counted.
package main

import (
	"fmt"
	"time"
)

const N = 100_000
const Rounds = 10

func main() {
	first := make(chan uint64)
	prev := first
	for i := 0; i < N; i++ {
		next := make(chan uint64)
		go func(in, out chan uint64) {
			for v := range in {
				out <- v + 1
			}
		}(prev, next)
		prev = next
	}
	last := prev
	t0 := time.Now()
	var v uint64
	for r := 0; r < Rounds; r++ {
		first <- v
		v = <-last
	}
	ns := time.Since(t0).Nanoseconds()
	if v != Rounds*N {
		panic("ring: wrong count")
	}
	fmt.Printf("RESULT ring %.1f ns/op\n", float64(ns)/float64(Rounds*N))
}
