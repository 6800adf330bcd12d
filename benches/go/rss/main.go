// bench rss: park 100 000 goroutines on a channel; resident bytes added per parked goroutine
// (/proc/self/statm before and after). The argument `small` only renames the result (Go's
// stacks start at 2 KB and grow; there is no smaller option).
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

const N = 100_000

func rss() int {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(strings.Fields(string(b))[1])
	return n * 4096
}

func main() {
	name := "rss"
	if len(os.Args) > 1 && os.Args[1] == "small" {
		name = "rss-small"
	}
	before := rss()
	ch := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(N)
	for i := 0; i < N; i++ {
		go func() { <-ch; wg.Done() }()
	}
	for runtime.NumGoroutine() < N+1 {
		runtime.Gosched()
	}
	for i := 0; i < 200; i++ {
		runtime.Gosched()
	}
	after := rss()
	close(ch)
	wg.Wait()
	fmt.Printf("RESULT %s %d B\n", name, (after-before)/N)
}
