package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/natsrv"
	"github.com/jetpool/jetpool/internal/node"
	"github.com/jetpool/jetpool/internal/testenv"
)

// btcwalletVersion is the btcwallet the payouts function is tested with.
const btcwalletVersion = "v0.16.10-0.20240718224643-db3a4a2543bd"

// startSimnetWallet starts btcwallet (a temporary wallet, passphrase
// "password") against btcd (which must run simnet) and waits until it
// answers.
func startSimnetWallet(t *testing.T, btcd *localsvc.Btcd) *poolWallet {
	t.Helper()
	dir := testenv.TempDir(t)
	port, err := natsrv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := localsvc.EnsureGoBinary(context.Background(), localsvc.BinaryOptions{Pkg: "github.com/btcsuite/btcwallet",
		Version: btcwalletVersion, Logger: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "btcwallet.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--simnet", "--createtemp", "--appdata="+dir, "--configfile="+conf,
		"--logdir="+filepath.Join(dir, "logs"), fmt.Sprintf("--rpcconnect=127.0.0.1:%d", btcd.RPCPort()),
		"--noclienttls", "--noservertls", "--btcdusername="+btcd.RPCUser(), "--btcdpassword="+btcd.RPCPass(),
		"--username=jetpool", "--password=jetpool", fmt.Sprintf("--rpclisten=127.0.0.1:%d", port))
	cmd.Env = append(os.Environ(), "HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	c, err := node.New(node.Config{URL: url, User: "jetpool", Pass: "jetpool"})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := c.Call(context.Background(), "getbalance", nil, nil)
		if err == nil {
			break
		}
		select {
		case <-done:
			t.Fatalf("btcwallet exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("btcwallet not answering: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return &poolWallet{client: c, cfg: config.Wallet{RPCURL: url, User: "jetpool", Pass: "jetpool", Passphrase: "password"}}
}
