// bench idleconn: an echo server (one goroutine per connection, a 1 KB read buffer) to which the
// companion process (tests/companion `idle 10000`, started by `cargo xtask bench` once the first
// line says where this listens) opens 10 000 connections that send nothing. Resident bytes added
// per idle connection: /proc/self/statm once every handler is parked in read, minus before the
// first accept. Then it exits, which closes them all and ends the companion. The argument `small`
// only renames the result (gort's row with 2 KB stacks; Go's start at 2 KB anyway).
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

const N = 10_000

func rss() int {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		panic(err)
	}
	n, _ := strconv.Atoi(strings.Fields(string(b))[1])
	return n * 4096
}

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("listening on %s\n", l.Addr())
	before := rss()
	var started int64
	for i := 0; i < N; i++ {
		c, err := l.Accept()
		if err != nil {
			panic(err)
		}
		go func() {
			atomic.AddInt64(&started, 1)
			buf := make([]byte, 1024)
			for {
				n, err := c.Read(buf)
				if err != nil || n == 0 {
					return
				}
				if _, err := c.Write(buf[:n]); err != nil {
					return
				}
			}
		}()
	}
	for atomic.LoadInt64(&started) < N {
		time.Sleep(time.Millisecond)
	}
	// Every handler has started; give the last ones time to park in read.
	time.Sleep(200 * time.Millisecond)
	after := rss()
	name := "idleconn"
	if len(os.Args) > 1 && os.Args[1] == "small" {
		name = "idleconn-small"
	}
	fmt.Printf("RESULT %s %d B\n", name, (after-before)/N)
}
