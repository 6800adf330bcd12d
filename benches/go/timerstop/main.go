// bench timerstop: start 1 M timers (an hour away, nothing to run), then stop them all (Go's
// BenchmarkStartStop shape); ns per start+stop.
package main

import (
	"fmt"
	"time"
)

const N = 1_000_000

func main() {
	t0 := time.Now()
	timers := make([]*time.Timer, N)
	for i := range timers {
		timers[i] = time.AfterFunc(time.Hour, func() {})
	}
	for _, t := range timers {
		t.Stop()
	}
	ns := time.Since(t0).Nanoseconds()
	fmt.Printf("RESULT timerstop %.1f ns/op\n", float64(ns)/float64(N))
}
