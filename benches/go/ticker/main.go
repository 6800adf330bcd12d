// bench ticker: 10 000 goroutines, each with a 1 ms ticker, each waits for 100 ticks; ms of wall
// time (100 at best: ticks a goroutine is too slow for are dropped and cost time).
package main

import (
	"fmt"
	"sync"
	"time"
)

const G = 10_000
const TICKS = 100

func main() {
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < G; i++ {
		wg.Add(1)
		go func() {
			t := time.NewTicker(time.Millisecond)
			for j := 0; j < TICKS; j++ {
				<-t.C
			}
			t.Stop()
			wg.Done()
		}()
	}
	wg.Wait()
	fmt.Printf("RESULT ticker %.1f ms\n", float64(time.Since(t0).Microseconds())/1000)
}
