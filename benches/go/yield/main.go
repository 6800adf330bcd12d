// bench yield: one P, two goroutines each calling runtime.Gosched N times; ns per switch.
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

const N = 1_000_000

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
