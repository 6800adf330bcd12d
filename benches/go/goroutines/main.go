// bench goroutines: Go's test/chan/goroutines.go: 10 000 goroutines in a chain, each relaying
// one value from its right neighbour's unbuffered channel to its left one's; the whole program
// after startup, in ms.
package main

import (
	"fmt"
	"time"
)

const N = 10_000

func f(left, right chan uint64) { left <- 1 + <-right }

func main() {
	t0 := time.Now()
	leftmost := make(chan uint64)
	left := leftmost
	for i := 0; i < N; i++ {
		right := make(chan uint64)
		go f(left, right)
		left = right
	}
	go func(c chan uint64) { c <- 1 }(left)
	v := <-leftmost
	ns := time.Since(t0).Nanoseconds()
	if v != N+1 {
		panic("goroutines: wrong value")
	}
	fmt.Printf("RESULT goroutines %.2f ms\n", float64(ns)/1e6)
}
