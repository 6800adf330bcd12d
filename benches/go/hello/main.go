// bench hello: startup cost. Prints one line and exits; the harness times whole runs.
package main

import "fmt"

func main() {
	fmt.Println("hello, world")
}
