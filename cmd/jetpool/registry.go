package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jetpool/jetpool/functions"
)

// registry lists every function this binary can run. Adding a function is a
// line here.
func registry() *functions.Registry {
	r := functions.NewRegistry()
	return r
}

func runListFunctions(_ context.Context, _ []string, stdout, _ io.Writer) error {
	for _, n := range registry().Names() {
		fmt.Fprintln(stdout, n)
	}
	return nil
}
