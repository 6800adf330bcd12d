// bench httphello: the Go twin of examples/http_hello.rs, net/http answering every request with
// "Hello, world!\n" (keep-alive, HTTP/1.1), driven by wrk from `cargo xtask bench`. The first
// line says where it listens (127.0.0.1, a port the kernel picks); it runs until killed.
package main

import (
	"fmt"
	"net"
	"net/http"
)

var hello = []byte("Hello, world!\n")

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("httphello: listening on %s\n", l.Addr())
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	panic(http.Serve(l, nil))
}
