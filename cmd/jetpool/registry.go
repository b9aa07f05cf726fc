package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/accounts"
	"github.com/jetpool/jetpool/functions/blocks"
	"github.com/jetpool/jetpool/functions/blocksubmit"
	"github.com/jetpool/jetpool/functions/chainwatch"
	"github.com/jetpool/jetpool/functions/ingest"
	"github.com/jetpool/jetpool/functions/jobmaker"
	"github.com/jetpool/jetpool/functions/payouts"
	"github.com/jetpool/jetpool/functions/pps"
	"github.com/jetpool/jetpool/functions/rewards"
	"github.com/jetpool/jetpool/functions/stats"

	// Coins available in this build (each registers itself).
	_ "github.com/jetpool/jetpool/internal/coin/bch"
	_ "github.com/jetpool/jetpool/internal/coin/btc"
	_ "github.com/jetpool/jetpool/internal/coin/ltc"
)

// registry lists every function this binary can run. Adding a function is a
// line here.
func registry() *functions.Registry {
	r := functions.NewRegistry()
	r.Register(jobmaker.Name, jobmaker.New)
	r.Register(blocksubmit.Name, blocksubmit.New)
	r.Register(accounts.Name, accounts.New)
	r.Register(blocks.Name, blocks.New)
	r.Register(chainwatch.Name, chainwatch.New)
	r.Register(ingest.Name, ingest.New)
	r.Register(stats.Name, stats.New)
	r.Register(rewards.Name, rewards.New)
	r.Register(pps.Name, pps.New)
	r.Register(payouts.Name, payouts.New)
	return r
}

func runListFunctions(_ context.Context, _ []string, stdout, _ io.Writer) error {
	for _, n := range registry().Names() {
		fmt.Fprintln(stdout, n)
	}
	return nil
}
