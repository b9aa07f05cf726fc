package main

import (
	"context"
	"fmt"
	"io"

	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/internal/process"
	"github.com/jetpool/jetpool/web"
)

func runWeb(ctx context.Context, args []string, _ io.Writer, stderr io.Writer) error {
	fs := newFlagSet("web", stderr)
	var cf commonFlags
	cf.register(fs)
	var listen string
	fs.StringVar(&listen, "listen", "127.0.0.1:8080", "HTTP listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log, err := ops.NewLogger(stderr, cf.logLevel)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	p, err := process.Start(ctx, process.Options{Name: "web", NATSURL: cf.natsURL, Replicas: cf.replicas, OpsAddr: cf.opsAddr, Log: log})
	if err != nil {
		return err
	}
	defer p.Close()
	if err := cf.seed(ctx, p); err != nil {
		return err
	}
	return p.Run(ctx, web.New(listen))
}
