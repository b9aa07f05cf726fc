package localsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jetpool/jetpool/internal/node"
)

// LitecoindBinary is where Debian's litecoind package puts the daemon (the
// /usr/bin wrapper would write ~/.litecoin).
const LitecoindBinary = "/usr/lib/litecoin/litecoind"

// LitecoindOptions describes a local litecoind regtest node.
type LitecoindOptions struct {
	// Binary defaults to LitecoindBinary, installed with apt-get (as root)
	// when missing.
	Binary string
	// DataDir holds both nodes' data. Required.
	DataDir string
	// RPCPort and P2PPort on 127.0.0.1; 0 picks free ones.
	RPCPort int
	P2PPort int
	// RPCUser and RPCPass default to "jetpool".
	RPCUser string
	RPCPass string
	// StartTimeout bounds the wait for RPC (default 60s; not the install).
	StartTimeout time.Duration
	Logger       *slog.Logger
}

// Litecoind is a running litecoind regtest node with its wallet, plus the
// second node getblocktemplate needs as a peer; both are children of this
// process.
type Litecoind struct {
	dataDir    string
	rpcPort    int
	p2pPort    int
	user, pass string
	client     *node.Client
	child      *child
	peer       *child
	log        *slog.Logger
}

// StartLitecoind installs litecoind if needed, starts a regtest node (RPC,
// P2P and wallet, all on 127.0.0.1 with data under DataDir) and a peer
// connected to it, and waits until the node answers RPC and sees the peer.
func StartLitecoind(ctx context.Context, o LitecoindOptions) (*Litecoind, error) {
	log := discardIfNil(o.Logger).With("svc", "litecoind")
	if o.DataDir == "" {
		return nil, errors.New("localsvc: litecoind: DataDir is required")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("localsvc: litecoind: %w", err)
	}
	bin := firstNonEmpty(o.Binary, LitecoindBinary)
	if _, err := os.Stat(bin); err != nil {
		if o.Binary != "" {
			return nil, fmt.Errorf("%w: %s", ErrNotInstalled, bin)
		}
		if err := aptInstall(ctx, log, "litecoind"); err != nil {
			return nil, err
		}
	}
	l := &Litecoind{dataDir: dir, user: firstNonEmpty(o.RPCUser, "jetpool"), pass: firstNonEmpty(o.RPCPass, "jetpool"), log: log}
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		if l.rpcPort, err = pickPort(o.RPCPort); err != nil {
			return nil, err
		}
		if l.p2pPort, err = pickPort(o.P2PPort); err != nil {
			return nil, err
		}
		lastErr = l.start(ctx, bin, o)
		if lastErr == nil {
			return l, nil
		}
		if (o.RPCPort != 0 && o.P2PPort != 0) || !errors.Is(lastErr, ErrExited) {
			break
		}
		log.Warn("litecoind exited during start; retrying on other ports", "err", lastErr)
	}
	return nil, lastErr
}

func (l *Litecoind) start(ctx context.Context, bin string, o LitecoindOptions) error {
	main, peer := filepath.Join(l.dataDir, "node"), filepath.Join(l.dataDir, "peer")
	for _, d := range []string{main, peer} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return fmt.Errorf("localsvc: litecoind: %w", err)
		}
	}
	p2p := net.JoinHostPort("127.0.0.1", strconv.Itoa(l.p2pPort))
	args := []string{
		"-regtest", "-datadir=" + main, "-server", "-listen", "-bind=" + p2p,
		"-port=" + strconv.Itoa(l.p2pPort), "-rpcport=" + strconv.Itoa(l.rpcPort),
		"-rpcbind=127.0.0.1", "-rpcallowip=127.0.0.1", "-rpcuser=" + l.user, "-rpcpassword=" + l.pass,
		"-dnsseed=0", "-fallbackfee=0.0001", "-printtoconsole", "-rpcworkqueue=64",
	}
	client, err := node.New(node.Config{URL: l.RPCURL(), User: l.user, Pass: l.pass, Logger: l.log})
	if err != nil {
		return fmt.Errorf("localsvc: litecoind: %w", err)
	}
	l.client = client
	c, err := startChild(childSpec{name: "litecoind", path: bin, args: args, dir: main, env: childEnv(main)}, l.log)
	if err != nil {
		return err
	}
	l.child = c
	sctx, cancel := startCtx(ctx, o.StartTimeout)
	defer cancel()
	if err := c.waitReady(sctx, func(ctx context.Context) error {
		_, err := client.GetBlockCount(ctx)
		return err
	}); err != nil {
		_ = c.stop(context.Background(), syscall.SIGKILL, 0)
		return fmt.Errorf("localsvc: litecoind: %w", err)
	}
	// getblocktemplate refuses to work without a peer, even on regtest.
	pc, err := startChild(childSpec{name: "litecoind-peer", path: bin, args: []string{
		"-regtest", "-datadir=" + peer, "-connect=" + p2p, "-listen=0", "-server=0", "-dnsseed=0", "-printtoconsole",
	}, dir: peer, env: childEnv(peer)}, l.log)
	if err != nil {
		_ = c.stop(context.Background(), syscall.SIGKILL, 0)
		return err
	}
	l.peer = pc
	if err := c.waitReady(sctx, func(ctx context.Context) error {
		var n int
		if err := client.Call(ctx, "getconnectioncount", nil, &n); err != nil {
			return err
		}
		if n == 0 {
			return errors.New("no peer yet")
		}
		return nil
	}); err != nil {
		_ = l.Stop(context.Background())
		return fmt.Errorf("localsvc: litecoind peer: %w", err)
	}
	if err := client.Call(sctx, "createwallet", []any{"jetpool"}, nil); err != nil && !node.IsCode(err, -4) {
		_ = l.Stop(context.Background())
		return fmt.Errorf("localsvc: litecoind createwallet: %w", err)
	}
	l.log.Info("litecoind ready", "rpc", l.RPCURL(), "p2p_port", l.p2pPort, "dir", l.dataDir, "pid", c.pid())
	return nil
}

// Prime mines one block to a wallet address when the chain is at genesis,
// so that getblocktemplate works.
func (l *Litecoind) Prime(ctx context.Context) error {
	n, err := l.client.GetBlockCount(ctx)
	if err != nil {
		return fmt.Errorf("localsvc: litecoind prime: %w", err)
	}
	if n == 0 {
		addr, err := l.NewAddress(ctx, "bech32")
		if err != nil {
			return err
		}
		if _, err := l.client.GenerateToAddress(ctx, 1, addr); err != nil {
			return fmt.Errorf("localsvc: litecoind prime: %w", err)
		}
	}
	if _, err := l.client.GetBlockTemplate(ctx, []string{"mweb", "segwit"}); err != nil {
		return fmt.Errorf("localsvc: litecoind prime: getblocktemplate: %w", err)
	}
	return nil
}

// NewAddress returns a new address of the node's wallet of type kind
// ("legacy", "p2sh-segwit", "bech32" or "mweb").
func (l *Litecoind) NewAddress(ctx context.Context, kind string) (string, error) {
	var addr string
	if err := l.client.Call(ctx, "getnewaddress", []any{"", kind}, &addr); err != nil {
		return "", fmt.Errorf("localsvc: litecoind getnewaddress %s: %w", kind, err)
	}
	return addr, nil
}

// Client is a JSON-RPC client for the node (and its single wallet).
func (l *Litecoind) Client() *node.Client { return l.client }

// RPCURL is http://127.0.0.1:PORT.
func (l *Litecoind) RPCURL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(l.rpcPort))
}

// RPCUser and RPCPass are the RPC credentials.
func (l *Litecoind) RPCUser() string { return l.user }
func (l *Litecoind) RPCPass() string { return l.pass }

// P2PPort is the node's P2P port on 127.0.0.1.
func (l *Litecoind) P2PPort() int { return l.p2pPort }

// PID is the node's process id.
func (l *Litecoind) PID() int { return l.child.pid() }

// Stop stops the peer, then the node (SIGTERM: litecoind flushes and
// exits), killing either if it takes longer than 15 s or ctx ends.
func (l *Litecoind) Stop(ctx context.Context) error {
	var errs []error
	if l.peer != nil {
		errs = append(errs, l.peer.stop(ctx, syscall.SIGTERM, defaultStopGrace))
	}
	errs = append(errs, l.child.stop(ctx, syscall.SIGTERM, defaultStopGrace))
	return errors.Join(errs...)
}
