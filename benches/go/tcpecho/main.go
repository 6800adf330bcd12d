// bench tcpecho: round trips of 64 bytes over one loopback TCP connection to an echo goroutine
// in the same process (both ends on the network poller); ns per round trip.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

const N = 50_000

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		c, err := l.Accept()
		if err != nil {
			panic(err)
		}
		buf := make([]byte, 64)
		for {
			n, err := c.Read(buf)
			if err != nil || n == 0 {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				panic(err)
			}
		}
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		panic(err)
	}
	msg := make([]byte, 64)
	back := make([]byte, 64)
	t0 := time.Now()
	for i := 0; i < N; i++ {
		msg[0] = byte(i)
		if _, err := c.Write(msg); err != nil {
			panic(err)
		}
		if _, err := io.ReadFull(c, back); err != nil {
			panic(err)
		}
		if back[0] != byte(i) {
			fmt.Println("tcpecho: wrong byte")
			os.Exit(1)
		}
	}
	ns := time.Since(t0).Nanoseconds()
	fmt.Printf("RESULT tcpecho %.1f ns/op\n", float64(ns)/float64(N))
}
