// bench select4: a loop whose select receives from whichever of 4 buffered channels is ready,
// fed round-robin by another goroutine; ns per select.
package main

import (
	"fmt"
	"time"
)

const N = 1_000_000

func main() {
	var cs [4]chan uint64
	for i := range cs {
		cs[i] = make(chan uint64, 16)
	}
	go func() {
		for i := uint64(0); i < N; i++ {
			cs[i%4] <- i
		}
	}()
	t0 := time.Now()
	var sum uint64
	for i := 0; i < N; i++ {
		select {
		case v := <-cs[0]:
			sum += v
		case v := <-cs[1]:
			sum += v
		case v := <-cs[2]:
			sum += v
		case v := <-cs[3]:
			sum += v
		}
	}
	ns := time.Since(t0).Nanoseconds()
	if sum != N*(N-1)/2 {
		panic("sum")
	}
	fmt.Printf("RESULT select4 %.1f ns/op\n", float64(ns)/float64(N))
}
