package payouts_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/btcsuite/btcd/address/v2"
	"github.com/btcsuite/btcd/chaincfg/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/payouts"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/ledger/ledgertest"
	"github.com/jetpool/jetpool/internal/localsvc"
	"github.com/jetpool/jetpool/internal/natsrv"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/node"
	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/internal/promtest"
	"github.com/jetpool/jetpool/internal/testenv"
)

// The payouts step runs in a child process (this test binary re-executed)
// when childEnv is set, so the test can kill it at a crash point.
const childEnv = "JETPOOL_PAYOUTS_CHILD"

type childSpec struct {
	Crash   string
	DSN     string
	NATSURL string
	Payouts config.Payouts
	Coin    config.Coin
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	testenv.Main(m)
}

func runChild(raw string) int {
	var s childSpec
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	ctx := context.Background()
	nc, err := nats.Connect(s.NATSURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	js, _ := jetstream.New(nc)
	st, err := ledger.Open(ctx, s.DSN)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	env := &functions.Env{NC: nc, JS: js, Log: natstest.Logger(), Ready: ops.NewReadiness(), Instance: "child"}
	f := &payouts.Function{CrashAt: s.Crash}
	if err := f.Step(ctx, env, st, s.Payouts, s.Coin); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	return 0
}

func TestAmountsAreExact(t *testing.T) {
	cases := []struct {
		units int64
		text  string
	}{{0, "0.00000000"}, {1, "0.00000001"}, {5_000_000_000, "50.00000000"}, {2_099_999_997_690_000, "20999999.97690000"}, {-12345, "-0.00012345"}}
	for _, c := range cases {
		if got := payouts.FormatAmount(c.units); string(got) != c.text {
			t.Errorf("FormatAmount(%d) = %s", c.units, got)
		}
		if got, err := payouts.ParseAmount(json.Number(c.text)); err != nil || got != c.units {
			t.Errorf("ParseAmount(%s) = %d, %v", c.text, got, err)
		}
	}
	for _, s := range []string{"1e-05", "0.1", "0.00012345"} {
		if _, err := payouts.ParseAmount(json.Number(s)); err != nil {
			t.Errorf("ParseAmount(%s): %v", s, err)
		}
	}
	if _, err := payouts.ParseAmount("0.000000001"); err == nil {
		t.Error("a fraction of a base unit was accepted")
	}
}

// simnet is btcd on simnet plus btcwallet holding mature coinbases.
type simnet struct {
	btcd   *localsvc.Btcd
	wallet *node.Client
	url    string
}

func startWallet(t *testing.T, dir string, btcdPort, port int, create bool) func() {
	t.Helper()
	bin, err := localsvc.EnsureGoBinary(context.Background(), localsvc.BinaryOptions{Pkg: "github.com/btcsuite/btcwallet",
		Version: "v0.16.10-0.20240718224643-db3a4a2543bd", Logger: testenv.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "btcwallet.conf")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--simnet", "--appdata=" + dir, "--configfile=" + conf, "--logdir=" + filepath.Join(dir, "logs"),
		fmt.Sprintf("--rpcconnect=127.0.0.1:%d", btcdPort), "--noclienttls", "--noservertls",
		"--username=jetpool", "--password=jetpool", fmt.Sprintf("--rpclisten=127.0.0.1:%d", port)}
	if create {
		args = append(args, "--createtemp")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, _ := os.Create(filepath.Join(dir, "stdout.log"))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	t.Cleanup(stop)
	return stop
}

func startSimnet(t *testing.T) *simnet {
	t.Helper()
	ctx := context.Background()
	dir := testenv.TempDir(t)
	btcdDir, walletDir := filepath.Join(dir, "btcd"), filepath.Join(dir, "wallet")
	_ = os.MkdirAll(walletDir, 0o700)
	wport, err := natsrv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	b1 := testenv.BtcdWith(t, localsvc.BtcdOptions{Network: "simnet", DataDir: btcdDir})
	rpcPort, p2pPort := b1.RPCPort(), b1.P2PPort()
	url := fmt.Sprintf("http://127.0.0.1:%d", wport)
	w, _ := node.New(node.Config{URL: url, User: "jetpool", Pass: "jetpool"})
	stopWallet := startWallet(t, walletDir, rpcPort, wport, true)
	var addr string
	waitRPC(t, "btcwallet", func() error { return w.Call(ctx, "getnewaddress", nil, &addr) })
	stopWallet()
	if err := b1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// The same simnet chain, now mining to the wallet.
	b2 := testenv.BtcdWith(t, localsvc.BtcdOptions{Network: "simnet", DataDir: btcdDir, RPCPort: rpcPort, P2PPort: p2pPort, MiningAddr: addr})
	startWallet(t, walletDir, rpcPort, wport, false)
	waitRPC(t, "btcwallet", func() error { return w.Call(ctx, "getbalance", nil, nil) })
	if _, err := b2.Client().Generate(ctx, 110); err != nil {
		t.Fatal(err)
	}
	wl := payouts.Wallet{C: w, Passphrase: "password"}
	waitRPC(t, "wallet funds", func() error {
		bal, err := wl.Balance(ctx)
		if err == nil && bal < 100_000_000 {
			err = fmt.Errorf("balance %d", bal)
		}
		return err
	})
	// A balance is not yet spendability: btcwallet has answered
	// "insufficient funds available to construct transaction" right after
	// it reported one (seen once in CI). Wait until it really sends (1 coin
	// to itself), then confirm that.
	waitRPC(t, "wallet able to send", func() error {
		_, err := wl.SendMany(ctx, map[string]int64{addr: 100_000_000})
		if err != nil {
			// btcwallet picks inputs against its chain client's best
			// block, which can lag the balance it reports; a new block
			// brings it up to date.
			if _, gerr := b2.Client().Generate(ctx, 1); gerr != nil {
				t.Fatal(gerr)
			}
		}
		return err
	})
	if _, err := b2.Client().Generate(ctx, 1); err != nil {
		t.Fatal(err)
	}
	return &simnet{btcd: b2, wallet: w, url: url}
}

func waitRPC(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func simnetAddress(t *testing.T) string {
	t.Helper()
	h := make([]byte, 20)
	_, _ = rand.Read(h)
	a, err := address.NewAddressPubKeyHash(h, &chaincfg.SimNetParams)
	if err != nil {
		t.Fatal(err)
	}
	return a.EncodeAddress()
}

// paidTo sums every wallet send per address.
func paidTo(t *testing.T, w payouts.Wallet) map[string][]int64 {
	t.Helper()
	txs, err := w.SentTxs(context.Background(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int64{}
	for _, tx := range txs {
		for a, v := range tx.Outputs {
			out[a] = append(out[a], v)
		}
	}
	return out
}

// payoutMetrics reads the payouts metrics of btc; the vectors live for the
// whole test binary, so tests compare two readings.
type payoutMetrics struct {
	intent, sent, reconciled, confirmed, failed, units, refused, transport float64
}

func readPayoutMetrics(t *testing.T, reg *prometheus.Registry) payoutMetrics {
	t.Helper()
	state := func(s string) float64 {
		return promtest.Sum(t, reg, "jetpool_payouts_payouts_total", map[string]string{"coin": "btc", "state": s})
	}
	kind := func(k string) float64 {
		return promtest.Sum(t, reg, "jetpool_payouts_wallet_errors_total", map[string]string{"coin": "btc", "kind": k})
	}
	return payoutMetrics{intent: state("intent"), sent: state("sent"), reconciled: state("reconciled"),
		confirmed: state("confirmed"), failed: state("failed"),
		units:   promtest.Sum(t, reg, "jetpool_payouts_sent_base_units_total", map[string]string{"coin": "btc"}),
		refused: kind("refused"), transport: kind("transport")}
}

func (a payoutMetrics) minus(b payoutMetrics) payoutMetrics {
	return payoutMetrics{a.intent - b.intent, a.sent - b.sent, a.reconciled - b.reconciled, a.confirmed - b.confirmed,
		a.failed - b.failed, a.units - b.units, a.refused - b.refused, a.transport - b.transport}
}

func metricsEnv(env *functions.Env) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	env.Metrics = reg
	env.RegisterMetrics(payouts.Collectors()...)
	return reg
}

func TestPayoutsExactlyOnceThroughCrashesOnRealWallet(t *testing.T) {
	sn := startSimnet(t)
	env, st := ledgertest.Env(t)
	reg := metricsEnv(env)
	ctx := context.Background()
	w := payouts.Wallet{C: sn.wallet, Passphrase: "password"}
	cc := config.Coin{Symbol: "btc", Network: "simnet", Enabled: true,
		Wallet: config.Wallet{RPCURL: sn.url, User: "jetpool", Pass: "jetpool", Passphrase: "password"}}
	cfg := config.Default().Payouts
	cfg.Minimum = map[string]int64{"btc": 100_000}
	cfg.Confirmations = 2
	cfg.BatchSize = 2

	round := 0
	credit := func() map[string]int64 {
		round++
		want := map[string]int64{}
		for i := range 3 {
			want[simnetAddress(t)] = int64(1_000_000 + 1000*round + i)
		}
		want[simnetAddress(t)] = 5_000 // below the minimum: stays
		if _, err := st.CreditPPS(ctx, "btc", fmt.Sprintf("round-%d", round), 4, want); err != nil {
			t.Fatal(err)
		}
		return want
	}
	dsn := env.Deps.PostgresDSN
	for _, crash := range []string{payouts.CrashAfterIntent, payouts.CrashAfterSend, payouts.CrashAfterRecord, ""} {
		t.Run("crash "+crash, func(t *testing.T) {
			want := credit()
			spec, _ := json.Marshal(childSpec{Crash: crash, DSN: dsn, NATSURL: env.NC.ConnectedUrl(), Payouts: cfg, Coin: cc})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
			out, err := cmd.CombinedOutput()
			code := cmd.ProcessState.ExitCode()
			if (crash != "" && code != 3) || (crash == "" && code != 0) {
				t.Fatalf("child exited %d (%v): %s", code, err, out)
			}
			// What the child left in state intent is what this process
			// records: by matching the wallet (the child crashed after
			// sendmany) or by sending it.
			open, err := st.Payouts(ctx, "btc", ledger.PayoutIntent)
			if err != nil {
				t.Fatal(err)
			}
			var openUnits int64
			for _, p := range open {
				for _, it := range p.Items {
					openUnits += it.Sent
				}
			}
			wantReconciled := 0.0
			if crash == payouts.CrashAfterSend {
				wantReconciled = 1
			}
			before := readPayoutMetrics(t, reg)
			// The restart: the function runs its step again.
			f := &payouts.Function{}
			if err := f.Step(ctx, env, st, cfg, cc); err != nil {
				t.Fatal(err)
			}
			if err := f.Step(ctx, env, st, cfg, cc); err != nil { // and once more: nothing new
				t.Fatal(err)
			}
			d := readPayoutMetrics(t, reg).minus(before)
			if d.reconciled != wantReconciled || d.sent+d.reconciled != float64(len(open)) || d.units != float64(openUnits) {
				t.Errorf("metrics: sent +%v reconciled +%v units +%v, want %d payouts (%v reconciled) of %d units",
					d.sent, d.reconciled, d.units, len(open), wantReconciled, openUnits)
			}
			if d.intent != 0 || d.confirmed != 0 || d.failed != 0 || d.refused != 0 || d.transport != 0 {
				t.Errorf("metrics changed without cause: %+v", d)
			}
			paid := paidTo(t, w)
			for a, amount := range want {
				acc, _ := st.Account(ctx, "btc", a)
				if amount < cfg.Minimum["btc"] {
					if len(paid[a]) != 0 || acc.Balance != amount {
						t.Errorf("%s below minimum was paid %v (balance %d)", a, paid[a], acc.Balance)
					}
					continue
				}
				if len(paid[a]) != 1 || paid[a][0] != amount {
					t.Errorf("%s: wallet paid %v, want exactly one payment of %d", a, paid[a], amount)
				}
				if acc.Balance != 0 || acc.Paid != amount {
					t.Errorf("%s: balance %d paid %d", a, acc.Balance, acc.Paid)
				}
			}
			if err := st.CheckInvariants(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Confirmations: mine, follow, confirm.
	if _, err := sn.btcd.Client().Generate(ctx, 2); err != nil {
		t.Fatal(err)
	}
	beforeConfirm := readPayoutMetrics(t, reg)
	natstest.WaitFor(t, 30*time.Second, "payouts confirmed", func() bool {
		f := &payouts.Function{}
		if err := f.Step(ctx, env, st, cfg, cc); err != nil {
			t.Log(err)
			return false
		}
		open, _ := st.Payouts(ctx, "btc", ledger.PayoutIntent, ledger.PayoutSent)
		return len(open) == 0
	})
	all, _ := st.Payouts(ctx, "btc")
	for _, p := range all {
		if p.State != ledger.PayoutConfirmed || p.TxID == "" {
			t.Errorf("payout %s: %s %q", p.ID, p.State, p.TxID)
		}
	}
	if d := readPayoutMetrics(t, reg).minus(beforeConfirm); d.confirmed != float64(len(all)) || d.sent != 0 || d.failed != 0 {
		t.Errorf("metrics after confirming %d payouts: %+v", len(all), d)
	}
	f := &payouts.Function{}
	rec, err := f.Reconcile(ctx, envWithCoin(t, env, cc), st, "btc")
	if err != nil || rec.WalletBalance <= 0 || rec.Balances != 4*5_000 || rec.Surplus != rec.WalletBalance-rec.Balances {
		t.Fatalf("reconcile %+v %v", rec, err)
	}

	// A payout the wallet cannot fund: the wallet refuses it, the payout
	// fails and the amount returns to the balance.
	rich := simnetAddress(t)
	const tooMuch = 100_000_000 * 1_000_000 // a million coins
	if _, err := st.CreditPPS(ctx, "btc", "round-rich", 1, map[string]int64{rich: tooMuch}); err != nil {
		t.Fatal(err)
	}
	beforeRefusal := readPayoutMetrics(t, reg)
	if err := f.Step(ctx, env, st, cfg, cc); err == nil {
		t.Fatal("a payout beyond the wallet's funds reported no error")
	}
	if acc, _ := st.Account(ctx, "btc", rich); acc.Balance != tooMuch || acc.Paid != 0 {
		t.Fatalf("refused payout: balance %d paid %d, want %d and 0", acc.Balance, acc.Paid, tooMuch)
	}
	if d := readPayoutMetrics(t, reg).minus(beforeRefusal); d.intent != 1 || d.failed != 1 || d.refused != 1 ||
		d.sent != 0 || d.units != 0 || d.transport != 0 {
		t.Errorf("metrics after a refused payout: %+v", d)
	}
}

// TestUnreachableWalletKeepsTheIntent: a wallet that cannot be reached
// sends nothing and judges nothing: the payout stays in state intent with
// the balance debited, for a later pass to reconcile; each failed call is
// counted as a transport error.
func TestUnreachableWalletKeepsTheIntent(t *testing.T) {
	env, st := ledgertest.Env(t)
	reg := metricsEnv(env)
	ctx := context.Background()
	port, err := natsrv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cc := config.Coin{Symbol: "btc", Network: "simnet", Enabled: true,
		Wallet: config.Wallet{RPCURL: fmt.Sprintf("http://127.0.0.1:%d", port), User: "jetpool", Pass: "jetpool"}}
	cfg := config.Default().Payouts
	cfg.Minimum = map[string]int64{"btc": 100_000}
	miner := simnetAddress(t)
	if _, err := st.CreditPPS(ctx, "btc", "round-1", 1, map[string]int64{miner: 2_000_000}); err != nil {
		t.Fatal(err)
	}
	before := readPayoutMetrics(t, reg)
	f := &payouts.Function{}
	for range 2 { // sendmany, then listtransactions to reconcile the intent
		if err := f.Step(ctx, env, st, cfg, cc); err == nil {
			t.Fatal("a pass with the wallet unreachable reported no error")
		}
	}
	open, err := st.Payouts(ctx, "btc", ledger.PayoutIntent)
	if err != nil || len(open) != 1 {
		t.Fatalf("payouts in state intent: %v (%v), want 1", open, err)
	}
	if acc, _ := st.Account(ctx, "btc", miner); acc.Balance != 0 || acc.Paid != 2_000_000 {
		t.Fatalf("balance %d paid %d with the intent open, want 0 and 2000000 (in flight)", acc.Balance, acc.Paid)
	}
	if d := readPayoutMetrics(t, reg).minus(before); d.intent != 1 || d.transport != 2 || d.refused != 0 ||
		d.sent != 0 || d.reconciled != 0 || d.failed != 0 || d.units != 0 {
		t.Errorf("metrics with the wallet unreachable: %+v", d)
	}
}

func envWithCoin(t *testing.T, env *functions.Env, cc config.Coin) *functions.Env {
	t.Helper()
	data, _ := json.Marshal(cc)
	if _, err := env.KV.Coins.Put(context.Background(), cc.Symbol, data); err != nil {
		t.Fatal(err)
	}
	return env
}
