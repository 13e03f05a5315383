package main

import (
	"fmt"
	"io"
)

// tail prints the records of a map another process created.
func tail(args []string, stdout, stderr io.Writer) int {
	_, _, status := parse("tail", "MAP", args, stderr)
	if status >= 0 {
		return status
	}
	fmt.Fprintln(stderr, "bpfstream tail: not implemented yet")
	return 1
}
