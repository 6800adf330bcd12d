// bench alloc: GOMAXPROCS workers (goroutines), each 2 000 000 times frees one of its 64 live
// objects and allocates a new one of 16..1024 bytes; ns per free+alloc pair per worker
// (the garbage collector does Go's freeing).
package main

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

const ITERS = 2_000_000
const LIVE = 64

var sink int

func work(seed uint64) int {
	x := seed | 1
	live := make([][]byte, LIVE)
	total := 0
	for i := 0; i < ITERS; i++ {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		n := 16 + int(x%1009)
		v := make([]byte, 1, n)
		v[0] = byte(i)
		total += cap(v)
		live[i%LIVE] = v
	}
	return total
}

func main() {
	procs := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	t0 := time.Now()
	wg.Add(procs)
	var mu sync.Mutex
	for p := 0; p < procs; p++ {
		go func(p int) {
			t := work(uint64(p + 1))
			mu.Lock()
			sink += t
			mu.Unlock()
			wg.Done()
		}(p)
	}
	wg.Wait()
	ns := time.Since(t0).Nanoseconds()
	fmt.Printf("RESULT alloc %.1f ns\n", float64(ns)/ITERS)
}
