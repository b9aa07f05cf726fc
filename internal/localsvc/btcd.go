package localsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jetpool/jetpool/internal/node"
)

// The btcd build StartBtcd installs when no Binary is given.
const (
	BtcdPkg     = "github.com/btcsuite/btcd"
	BtcdVersion = "v0.26.2"
)

// Default mining addresses: P2PKH of the hash160 0x0102…14, which nobody holds
// a key for. btcd needs one for generate and getblocktemplate; pools build
// their own coinbase, so blocks a pool finds never pay it.
const (
	RegtestMiningAddress = "mfcHP2WMCVLsVZA8yrovmhMgxNFW9r98xw"
	SimnetMiningAddress  = "SMPL7pCX7q6pEkTyoipdVgHvk9tE5D6XNW"
)

// DefaultMiningAddress is the default mining address of a btcd test network.
func DefaultMiningAddress(network string) string {
	if network == "simnet" {
		return SimnetMiningAddress
	}
	return RegtestMiningAddress
}

// BtcdOptions describes one local btcd node on a test network.
type BtcdOptions struct {
	// Binary is the btcd executable; "" installs BtcdPkg@BtcdVersion with
	// EnsureGoBinary into BinDir.
	Binary string
	BinDir string
	// DataDir holds the chain, logs and an empty config file. Required.
	DataDir string
	// Network is "regtest" (default) or "simnet". btcd deletes a regtest
	// chain at every start; a simnet chain persists (and btcwallet works
	// with simnet), so `jetpool dev` should use simnet.
	Network string
	// RPCPort and P2PPort on 127.0.0.1; 0 picks free ones.
	RPCPort int
	P2PPort int
	// RPCUser and RPCPass default to "jetpool".
	RPCUser string
	RPCPass string
	// MiningAddr defaults to DefaultMiningAddress(Network).
	MiningAddr string
	// ExtraArgs are appended to btcd's command line.
	ExtraArgs []string
	// StartTimeout bounds the wait for RPC (default 60s; not the build).
	StartTimeout time.Duration
	Logger       *slog.Logger
}

// Btcd is a running btcd node, child of this process.
type Btcd struct {
	dataDir    string
	network    string
	rpcPort    int
	p2pPort    int
	user, pass string
	miningAddr string
	client     *node.Client
	child      *child
	log        *slog.Logger
}

// StartBtcd starts btcd on a test network with every file under DataDir, RPC without TLS
// on 127.0.0.1, and waits until RPC answers. btcd always creates ~/.btcd while
// loading its config (from the passwd entry, whatever HOME says); StartBtcd
// removes it again when it is empty. A restart on the same DataDir keeps a simnet chain;
// btcd itself wipes a regtest chain at start. Call Prime before asking for
// templates.
func StartBtcd(ctx context.Context, o BtcdOptions) (*Btcd, error) {
	log := discardIfNil(o.Logger).With("svc", "btcd")
	if o.DataDir == "" {
		return nil, errors.New("localsvc: btcd: DataDir is required")
	}
	dir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return nil, fmt.Errorf("localsvc: btcd: %w", err)
	}
	network := o.Network
	if network == "" {
		network = "regtest"
	}
	if network != "regtest" && network != "simnet" {
		return nil, fmt.Errorf("localsvc: btcd: network %q: want regtest or simnet", network)
	}
	bin := o.Binary
	if bin == "" {
		bin, err = EnsureGoBinary(ctx, BinaryOptions{Pkg: BtcdPkg, Version: BtcdVersion, Name: "btcd", BinDir: o.BinDir, Logger: log})
		if err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("localsvc: btcd: %w", err)
	}
	if network == "regtest" {
		if _, err := os.Stat(filepath.Join(dir, "data", "regtest")); err == nil {
			log.Warn("btcd deletes its regtest chain at every start; use simnet for a chain that survives restarts", "dir", dir)
		}
	}
	conf := filepath.Join(dir, "btcd.conf")
	if err := os.WriteFile(conf, nil, 0o640); err != nil {
		return nil, fmt.Errorf("localsvc: btcd: %w", err)
	}
	b := &Btcd{
		dataDir:    dir,
		network:    network,
		user:       firstNonEmpty(o.RPCUser, "jetpool"),
		pass:       firstNonEmpty(o.RPCPass, "jetpool"),
		miningAddr: firstNonEmpty(o.MiningAddr, DefaultMiningAddress(network)),
		log:        log,
	}
	var lastErr error
	for attempt := 0; attempt < startAttempts; attempt++ {
		if b.rpcPort, err = pickPort(o.RPCPort); err != nil {
			return nil, err
		}
		if b.p2pPort, err = pickPort(o.P2PPort); err != nil {
			return nil, err
		}
		lastErr = b.start(ctx, bin, conf, o)
		if lastErr == nil {
			return b, nil
		}
		if (o.RPCPort != 0 && o.P2PPort != 0) || !errors.Is(lastErr, ErrExited) {
			break
		}
		log.Warn("btcd exited during start; retrying on other ports", "err", lastErr)
	}
	return nil, lastErr
}

func (b *Btcd) start(ctx context.Context, bin, conf string, o BtcdOptions) error {
	args := []string{
		"--configfile=" + conf,
		"--datadir=" + filepath.Join(b.dataDir, "data"),
		"--logdir=" + filepath.Join(b.dataDir, "logs"),
		"--" + b.network,
		"--rpcuser=" + b.user,
		"--rpcpass=" + b.pass,
		"--rpclisten=" + net.JoinHostPort("127.0.0.1", strconv.Itoa(b.rpcPort)),
		"--notls",
		"--listen=" + net.JoinHostPort("127.0.0.1", strconv.Itoa(b.p2pPort)),
		"--miningaddr=" + b.miningAddr,
		"--txindex",
		"--nodnsseed",
		"--utxocachemaxsize=32",
		"--rpcmaxclients=200",
		"--rpcmaxwebsockets=50",
	}
	args = append(args, o.ExtraArgs...)
	client, err := node.New(node.Config{URL: b.RPCURL(), User: b.user, Pass: b.pass, Logger: b.log})
	if err != nil {
		return fmt.Errorf("localsvc: btcd: %w", err)
	}
	b.client = client
	c, err := startChild(childSpec{name: "btcd", path: bin, args: args, dir: b.dataDir, env: childEnv(b.dataDir)}, b.log)
	if err != nil {
		return err
	}
	b.child = c
	defer tidyHomeDir(btcdHomeDir())
	sctx, cancel := startCtx(ctx, o.StartTimeout)
	defer cancel()
	probe := func(ctx context.Context) error {
		_, err := client.GetBlockCount(ctx)
		return err
	}
	if err := c.waitReady(sctx, probe); err != nil {
		_ = c.stop(context.Background(), syscall.SIGKILL, 0)
		return fmt.Errorf("localsvc: btcd: %w", err)
	}
	b.log.Info("btcd ready", "network", b.network, "rpc", b.RPCURL(), "p2p_port", b.p2pPort, "dir", b.dataDir, "pid", c.pid())
	return nil
}

// Prime makes getblocktemplate usable: btcd serves templates at height 0, but
// above it only while its tip is under a day old. Prime mines one block when
// the chain is at genesis or the tip is stale, and checks a template comes back.
func (b *Btcd) Prime(ctx context.Context) error {
	n, err := b.client.GetBlockCount(ctx)
	if err != nil {
		return fmt.Errorf("localsvc: btcd prime: %w", err)
	}
	_, err = b.client.GetBlockTemplate(ctx, []string{"segwit"})
	if n == 0 || node.IsCode(err, node.CodeInInitialDownload) {
		if _, gerr := b.client.Generate(ctx, 1); gerr != nil {
			return fmt.Errorf("localsvc: btcd prime: generate: %w", gerr)
		}
		_, err = b.client.GetBlockTemplate(ctx, []string{"segwit"})
	}
	if err != nil {
		return fmt.Errorf("localsvc: btcd prime: getblocktemplate: %w", err)
	}
	return nil
}

// Client is a JSON-RPC client for this node.
func (b *Btcd) Client() *node.Client { return b.client }

// RPCURL is http://127.0.0.1:PORT.
func (b *Btcd) RPCURL() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(b.rpcPort))
}

// WSURL is the websocket endpoint (notifyblocks), ws://127.0.0.1:PORT/ws.
func (b *Btcd) WSURL() string {
	return "ws://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(b.rpcPort)) + "/ws"
}

// RPCUser and RPCPass are the RPC credentials (HTTP basic auth).
func (b *Btcd) RPCUser() string { return b.user }
func (b *Btcd) RPCPass() string { return b.pass }

// RPCPort and P2PPort are the listening ports on 127.0.0.1.
func (b *Btcd) RPCPort() int { return b.rpcPort }
func (b *Btcd) P2PPort() int { return b.p2pPort }

// Network is "regtest" or "simnet".
func (b *Btcd) Network() string { return b.network }

// MiningAddr is the address btcd's own generate pays.
func (b *Btcd) MiningAddr() string { return b.miningAddr }

// DataDir is the node's directory.
func (b *Btcd) DataDir() string { return b.dataDir }

// PID is btcd's process id (also its process group id).
func (b *Btcd) PID() int { return b.child.pid() }

// Exited is closed when the node process has exited.
func (b *Btcd) Exited() <-chan struct{} { return b.child.done }

// Stop sends SIGINT (btcd flushes its UTXO cache and closes the database)
// and kills the process group if that takes longer than 15 s or ctx ends.
func (b *Btcd) Stop(ctx context.Context) error {
	return b.child.stop(ctx, syscall.SIGINT, defaultStopGrace)
}

// btcdHomeDir is the directory btcd creates unconditionally at start:
// ~/.btcd of the passwd entry (not $HOME, so pointing HOME elsewhere does not
// help).
func btcdHomeDir() string {
	if u, err := user.Current(); err == nil && u.HomeDir != "" {
		return filepath.Join(u.HomeDir, ".btcd")
	}
	return filepath.Join(os.Getenv("HOME"), ".btcd")
}

// tidyHomeDir removes the empty ~/.btcd that every btcd start creates, so
// running local nodes leaves the home directory as it was. A directory with
// anything in it (a real btcd setup) is left alone; an empty one holds
// nothing btcd would not recreate. Removing it whatever its origin stays
// correct when several processes start nodes at once.
func tidyHomeDir(dir string) {
	if dir == "" {
		return
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) == 0 {
		_ = os.Remove(dir)
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
