package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/blocksubmit"
	"github.com/jetpool/jetpool/functions/jobmaker"

	// Coins available in this build (each registers itself).
	_ "github.com/jetpool/jetpool/internal/coin/btc"
)

// registry lists every function this binary can run. Adding a function is a
// line here.
func registry() *functions.Registry {
	r := functions.NewRegistry()
	r.Register(jobmaker.Name, jobmaker.New)
	r.Register(blocksubmit.Name, blocksubmit.New)
	return r
}

func runListFunctions(_ context.Context, _ []string, stdout, _ io.Writer) error {
	for _, n := range registry().Names() {
		fmt.Fprintln(stdout, n)
	}
	return nil
}
