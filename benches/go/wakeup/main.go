// bench wakeup: GOMAXPROCS goroutines spin without ever entering the runtime while one more
// sleeps 1 ms, 300 times; how late it wakes (the wake-up time minus 1 ms), p50 and p99 in µs.
package main

import (
	"fmt"
	"runtime"
	"sort"
	"sync/atomic"
	"time"
)

const SLEEPS = 300

var stop int32
var sink uint64

func main() {
	procs := runtime.GOMAXPROCS(0)
	for i := 0; i < procs; i++ {
		go func() {
			x := uint64(1)
			for atomic.LoadInt32(&stop) == 0 {
				x *= 3
			}
			atomic.AddUint64(&sink, x)
		}()
	}
	done := make(chan []float64)
	go func() {
		late := make([]float64, 0, SLEEPS)
		for i := 0; i < SLEEPS; i++ {
			t0 := time.Now()
			time.Sleep(time.Millisecond)
			late = append(late, float64(time.Since(t0).Nanoseconds()-1_000_000)/1000)
		}
		done <- late
	}()
	late := <-done
	atomic.StoreInt32(&stop, 1)
	sort.Float64s(late)
	fmt.Printf("RESULT wakeup-p50 %.1f us\n", late[SLEEPS/2])
	fmt.Printf("RESULT wakeup-p99 %.1f us\n", late[SLEEPS*99/100])
}
