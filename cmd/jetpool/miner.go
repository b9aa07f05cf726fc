package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/jetpool/jetpool/internal/miner"
	"github.com/jetpool/jetpool/internal/ops"
)

func runMiner(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("miner", stderr)
	var cfg miner.Config
	var logLevel string
	var every time.Duration
	fs.StringVar(&cfg.URL, "url", "stratum+tcp://127.0.0.1:3333", "pool URL (stratum+tcp:// or stratum+tls://)")
	fs.StringVar(&cfg.User, "user", "", "ADDRESS[.WORKER]")
	fs.StringVar(&cfg.Pass, "pass", "x", "password (d=DIFF sets the starting difficulty, m=solo mines solo)")
	fs.IntVar(&cfg.Threads, "threads", 1, "hashing threads")
	fs.StringVar(&cfg.Algo, "algo", "sha256d", "proof-of-work algorithm")
	fs.BoolVar(&cfg.InsecureSkipVerify, "insecure", false, "accept any TLS certificate (dev pools use self-signed ones)")
	fs.BoolVar(&cfg.VersionRolling, "version-rolling", false, "negotiate BIP310 version rolling")
	fs.Float64Var(&cfg.SuggestDifficulty, "suggest-difficulty", 0, "send mining.suggest_difficulty")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.DurationVar(&every, "stats-every", 10*time.Second, "print statistics as JSON this often (0 = only at exit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.User == "" {
		return fmt.Errorf("%w: --user ADDRESS[.WORKER] is required", errUsage)
	}
	log, err := ops.NewLogger(stderr, logLevel)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	cfg.Logger = log
	m, err := miner.New(cfg)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	print := func() { _ = json.NewEncoder(stdout).Encode(m.Stats()) }
	var tick <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case err := <-done:
			print()
			if ctx.Err() != nil {
				return nil
			}
			return err
		case <-tick:
			print()
		}
	}
}
