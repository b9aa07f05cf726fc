// Command jetpool is the pool's only binary. Its first argument picks the
// role: `dev` runs the whole pool in one process on an embedded NATS server;
// `fn`, `gateway` and `web` run one role against a NATS cluster;
// `check-config` validates a configuration file; `miner` is the project's
// CPU miner; `bench` holds load generators.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	return map[string]command{
		"dev":          {"run the whole pool in one process (embedded NATS, local PostgreSQL, ClickHouse, regtest node)", runDev},
		"fn":           {"run the named functions against --nats", runFn},
		"gateway":      {"run one stratum gateway (--coin, --region) against --nats", runGateway},
		"miner":        {"the project's CPU miner (--url, --user, --threads)", runMiner},
		"web":          {"run the web API and dashboard against --nats", runWeb},
		"check-config": {"validate a configuration file and list every error", runCheckConfig},
		"functions":    {"list the functions this binary can run", runListFunctions},
		"bench":        {"load generators: bench stratum --conns N --rate R --duration D", runBench},
	}
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a usage error (exit code 2).
var errUsage = errors.New("usage")

func realMain(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		return 2
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "jetpool: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintf(stderr, "jetpool %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: jetpool COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nrun `jetpool COMMAND -h` for a command's flags")
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("jetpool "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// listFlag is a repeatable or comma-separated string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments (`jetpool fn ingest --nats URL stats`) and returns the
// positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
