package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/jetpool/jetpool/internal/config"
)

func runCheckConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("check-config", stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: jetpool check-config FILE") }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("%w: one FILE expected", errUsage)
	}
	cfg, err := config.Load(fs.Arg(0), os.Environ())
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%s is invalid:\n%w", fs.Arg(0), err)
	}
	fmt.Fprintf(stdout, "%s: ok (%d coins)\n", fs.Arg(0), len(cfg.Coins))
	return nil
}
