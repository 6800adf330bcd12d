// bench tcpecho1k: 1 000 loopback TCP connections echoing at once, both ends in this process
// (a client goroutine and a server goroutine per connection, all on the network poller); each
// client makes 100 round trips of 1 KB. Throughput in round trips per second, from the first
// write to the last read (the connections are opened before the clock starts).
package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

const (
	conns  = 1000
	rounds = 100
	size   = 1024
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, size)
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
		}
	}()
	cs := make([]net.Conn, conns)
	for i := range cs {
		if cs[i], err = net.Dial("tcp", l.Addr().String()); err != nil {
			panic(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(conns)
	t0 := time.Now()
	for i, c := range cs {
		go func(i int, c net.Conn) {
			msg := bytes.Repeat([]byte{byte(i)}, size)
			back := make([]byte, size)
			for r := 0; r < rounds; r++ {
				msg[0] = byte(r)
				if _, err := c.Write(msg); err != nil {
					panic(err)
				}
				if _, err := io.ReadFull(c, back); err != nil {
					panic(err)
				}
				if !bytes.Equal(back, msg) {
					fmt.Printf("tcpecho1k: connection %d round %d: wrong bytes\n", i, r)
					os.Exit(1)
				}
			}
			wg.Done()
		}(i, c)
	}
	wg.Wait()
	s := time.Since(t0).Seconds()
	fmt.Printf("RESULT tcpecho1k %.0f rt/s\n", float64(conns*rounds)/s)
}
