package devpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/jetpool/jetpool/internal/coin/bch"
	"github.com/jetpool/jetpool/internal/localsvc"
)

// devNode is one coin's running node in the dev pool.
type devNode struct {
	endpoint    NodeEndpoint
	poolAddress string
	pid         int
	stop        func(context.Context) error
}

// nodeStarters knows how to run each coin's node locally. btc runs btcd on
// simnet (btcd wipes a regtest chain at every start; dev must resume), ltc
// runs litecoind on regtest (with its peer and wallet), bch runs bchd on
// regtest with --regtestnoreset.
var nodeStarters = map[string]func(ctx context.Context, dir string, rpc, p2p int, log *slog.Logger) (*devNode, error){
	"btc": startBtcNode,
	"ltc": startLtcNode,
	"bch": startBchNode,
}

func startNode(ctx context.Context, sym, dir string, ports *Ports, log *slog.Logger) (*devNode, error) {
	return nodeStarters[sym](ctx, dir, ports.NodeRPC[sym], ports.NodeP2P[sym], log)
}

func startBtcNode(ctx context.Context, dir string, rpc, p2p int, log *slog.Logger) (*devNode, error) {
	addr, err := poolAddress(dir, "btc")
	if err != nil {
		return nil, err
	}
	bd, err := localsvc.StartBtcd(ctx, localsvc.BtcdOptions{DataDir: filepath.Join(dir, "btcd"), Network: "simnet",
		RPCPort: rpc, P2PPort: p2p, RPCUser: "jetpool", RPCPass: "jetpool", Logger: log})
	if err != nil {
		return nil, err
	}
	if err := bd.Prime(ctx); err != nil {
		_ = bd.Stop(context.Background())
		return nil, fmt.Errorf("devpool: prime btcd: %w", err)
	}
	return &devNode{endpoint: NodeEndpoint{Network: "simnet", RPCURL: bd.RPCURL(), WSURL: bd.WSURL(), User: bd.RPCUser(), Pass: bd.RPCPass()},
		poolAddress: addr, pid: bd.PID(), stop: bd.Stop}, nil
}

func startBchNode(ctx context.Context, dir string, rpc, p2p int, log *slog.Logger) (*devNode, error) {
	hash, err := poolKeyHash160(dir, "bch")
	if err != nil {
		return nil, err
	}
	addr, err := bch.EncodeCashAddr(bch.RegTestParams.Prefix, bch.CashP2PKH, hash)
	if err != nil {
		return nil, fmt.Errorf("devpool: bch address: %w", err)
	}
	bd, err := localsvc.StartBchd(ctx, localsvc.BtcdOptions{DataDir: filepath.Join(dir, "bchd"), Network: "regtest",
		RPCPort: rpc, P2PPort: p2p, RPCUser: "jetpool", RPCPass: "jetpool", Logger: log})
	if err != nil {
		return nil, err
	}
	if err := bd.Prime(ctx); err != nil {
		_ = bd.Stop(context.Background())
		return nil, fmt.Errorf("devpool: prime bchd: %w", err)
	}
	return &devNode{endpoint: NodeEndpoint{Network: "regtest", RPCURL: bd.RPCURL(), WSURL: bd.WSURL(), User: bd.RPCUser(), Pass: bd.RPCPass()},
		poolAddress: addr, pid: bd.PID(), stop: bd.Stop}, nil
}

func startLtcNode(ctx context.Context, dir string, rpc, p2p int, log *slog.Logger) (*devNode, error) {
	ld, err := localsvc.StartLitecoind(ctx, localsvc.LitecoindOptions{DataDir: filepath.Join(dir, "litecoind"),
		RPCPort: rpc, P2PPort: p2p, RPCUser: "jetpool", RPCPass: "jetpool", Logger: log})
	if err != nil {
		return nil, err
	}
	if err := ld.Prime(ctx); err != nil {
		_ = ld.Stop(context.Background())
		return nil, fmt.Errorf("devpool: prime litecoind: %w", err)
	}
	// The pool address is one of the node wallet's, made once and kept.
	path := filepath.Join(dir, "keys", "ltc.address")
	addr := ""
	if b, err := os.ReadFile(path); err == nil {
		addr = strings.TrimSpace(string(b))
	} else if errors.Is(err, os.ErrNotExist) {
		if addr, err = ld.NewAddress(ctx, "bech32"); err != nil {
			_ = ld.Stop(context.Background())
			return nil, fmt.Errorf("devpool: ltc address: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, []byte(addr+"\n"), 0o600); err != nil {
			return nil, err
		}
	} else {
		return nil, err
	}
	return &devNode{endpoint: NodeEndpoint{Network: "regtest", RPCURL: ld.RPCURL(), User: ld.RPCUser(), Pass: ld.RPCPass()},
		poolAddress: addr, pid: ld.PID(), stop: ld.Stop}, nil
}
