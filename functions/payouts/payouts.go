package payouts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/internal/ledgerfn"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/internal/ledger"
	"github.com/jetpool/jetpool/internal/node"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Name is the function's registry name.
const Name = "payouts"

// ReconcileSubject answers reconciliation queries.
const ReconcileSubject = "payouts.reconcile"

var (
	mPayouts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "payouts", Name: "payouts_total",
		Help: "Payout state changes this process recorded, per coin and new state: intent (created, balances debited), sent (sendmany answered, txid recorded), reconciled (an intent matched to a wallet transaction after a restart), confirmed, failed (amounts returned).",
	}, []string{"coin", "state"})
	mSentUnits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "payouts", Name: "sent_base_units_total",
		Help: "Base units paid by the payouts this process recorded with a txid (sent or reconciled), per coin.",
	}, []string{"coin"})
	mWalletErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "jetpool", Subsystem: "payouts", Name: "wallet_errors_total",
		Help: "Failed wallet calls, per coin and kind: refused (the wallet answered with an error) or transport (no usable answer).",
	}, []string{"coin", "kind"})
)

// stateReconciled labels payouts_total for an intent matched to a wallet
// transaction after a restart (the ledger records it as sent).
const stateReconciled = "reconciled"

// Collectors returns the function's metrics.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{mPayouts, mSentUnits, mWalletErrors}
}

// walletError counts a failed wallet call of coin (nothing when err is nil).
func walletError(coin string, err error) {
	if err == nil {
		return
	}
	kind := "transport"
	var rpcErr *node.RPCError
	if errors.As(err, &rpcErr) {
		kind = "refused"
	}
	mWalletErrors.WithLabelValues(coin, kind).Inc()
}

// countSent counts a payout that became sent (state sent or reconciled).
func countSent(p ledger.Payout, state string) {
	var units int64
	for _, it := range p.Items {
		units += it.Sent
	}
	mPayouts.WithLabelValues(p.Coin, state).Inc()
	mSentUnits.WithLabelValues(p.Coin).Add(float64(units))
}

// Crash points, for the crash-safety tests: the process exits (status 3)
// right there when CrashAt names one.
const (
	CrashAfterIntent = "after-intent" // intent recorded, wallet not called
	CrashAfterSend   = "after-send"   // wallet sent, txid not recorded
	CrashAfterRecord = "after-record" // txid recorded, events not published
)

// Function pays miners.
type Function struct {
	// Interval overrides payouts.interval (tests).
	Interval time.Duration
	// CrashAt makes the process exit at a crash point (tests only).
	CrashAt string
	// ListCount is how many wallet entries reconciliation reads (default 1000).
	ListCount int
}

// New returns a payouts function.
func New() functions.Function { return &Function{} }

// Name implements functions.Function.
func (f *Function) Name() string { return Name }

// Reconciliation compares the wallet with what the pool owes.
type Reconciliation struct {
	ledger.Owed
	WalletBalance int64 `json:"wallet_balance"`
	// Surplus = wallet balance − (balances + in flight): what the wallet
	// holds beyond what the pool must pay now (immature rewards are not yet
	// spendable and are reported apart); negative means it cannot cover it.
	Surplus int64 `json:"surplus"`
}

// Run implements functions.Function.
func (f *Function) Run(ctx context.Context, env *functions.Env) error {
	env.RegisterMetrics(Collectors()...)
	st, svc, err := ledgerfn.Start(ctx, env, Name, "pays miners from the pool wallet")
	if err != nil {
		return err
	}
	defer st.Close()
	if err := svc.AddEndpoint("reconcile", micro.HandlerFunc(func(req micro.Request) {
		var r struct {
			Coin string `json:"coin"`
		}
		if err := json.Unmarshal(req.Data(), &r); err != nil || r.Coin == "" {
			_ = req.Error("400", `want {"coin":…}`, nil)
			return
		}
		rec, err := f.Reconcile(ctx, env, st, r.Coin)
		if err != nil {
			_ = req.Error("500", err.Error(), nil)
			return
		}
		_ = req.RespondJSON(rec)
	}), micro.WithEndpointSubject(ReconcileSubject)); err != nil {
		return fmt.Errorf("payouts: endpoint: %w", err)
	}
	for {
		cfg, _, err := kv.Get[config.Payouts](ctx, env.KV.Config, config.KeyPayouts)
		interval := f.Interval
		if err != nil {
			env.Log.Warn("payouts config unavailable", "err", err)
		} else {
			if interval == 0 {
				interval = cfg.Interval.D()
			}
			if err := f.StepAll(ctx, env, st, cfg); err != nil && ctx.Err() == nil {
				env.Log.Warn("payout pass incomplete; will retry", "err", err)
			}
		}
		if interval <= 0 {
			interval = time.Minute
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// StepAll runs one pass for every enabled coin with a wallet.
func (f *Function) StepAll(ctx context.Context, env *functions.Env, st *ledger.Store, cfg config.Payouts) error {
	keys, err := env.KV.Coins.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, sym := range keys {
		cc, _, err := kv.Get[config.Coin](ctx, env.KV.Coins, sym)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !cc.Enabled || cc.Wallet.RPCURL == "" {
			continue
		}
		if err := f.Step(ctx, env, st, cfg, cc); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", sym, err))
		}
	}
	return errors.Join(errs...)
}

func wallet(cc config.Coin, env *functions.Env) (Wallet, error) {
	c, err := node.New(node.Config{URL: cc.Wallet.RPCURL, User: cc.Wallet.User, Pass: cc.Wallet.Pass, Logger: env.Log})
	return Wallet{C: c, Passphrase: cc.Wallet.Passphrase}, err
}

// Step is one payout pass for one coin (see the package comment).
func (f *Function) Step(ctx context.Context, env *functions.Env, st *ledger.Store, cfg config.Payouts, cc config.Coin) error {
	w, err := wallet(cc, env)
	if err != nil {
		return err
	}
	unlock, err := lockCoin(ctx, st.Pool(), cc.Symbol)
	if err != nil {
		return err
	}
	defer unlock()
	// 1. Intents left by a crash.
	open, err := st.Payouts(ctx, cc.Symbol, ledger.PayoutIntent)
	if err != nil {
		return err
	}
	if len(open) > 0 {
		if err := f.resolve(ctx, env, st, w, open); err != nil {
			return err
		}
	}
	// 2. Sent payouts.
	sent, err := st.Payouts(ctx, cc.Symbol, ledger.PayoutSent)
	if err != nil {
		return err
	}
	for _, p := range sent {
		n, err := w.Confirmations(ctx, p.TxID)
		if err != nil {
			walletError(cc.Symbol, err)
			return fmt.Errorf("gettransaction %s: %w", p.TxID, err)
		}
		switch {
		case n < 0:
			failed, err := st.FailPayout(ctx, p.ID, "transaction conflicted")
			if err != nil {
				return err
			}
			if failed {
				mPayouts.WithLabelValues(p.Coin, ledger.PayoutFailed).Inc()
			}
			f.event(ctx, env, p, ledger.PayoutFailed)
		case n >= int64(cfg.Confirmations):
			if err := st.SetPayoutConfirmations(ctx, p.ID, n, true); err != nil {
				return err
			}
			mPayouts.WithLabelValues(p.Coin, ledger.PayoutConfirmed).Inc()
			p.Confirmations = n
			f.event(ctx, env, p, ledger.PayoutConfirmed)
		default:
			if err := st.SetPayoutConfirmations(ctx, p.ID, n, false); err != nil {
				return err
			}
		}
	}
	// 3. New payouts.
	min := cfg.Minimum[cc.Symbol]
	if min <= 0 {
		min = 1_000_000 // 0.01 coin when the operator set none
	}
	pos, err := st.CreatePayouts(ctx, ledger.PayoutPlan{Coin: cc.Symbol, Minimum: min, FeePolicy: cfg.FeePolicy,
		FeePerOutput: cfg.FeePerOutput, BatchSize: cfg.BatchSize, Now: time.Now().UTC()})
	if err != nil {
		return err
	}
	mPayouts.WithLabelValues(cc.Symbol, ledger.PayoutIntent).Add(float64(len(pos)))
	for _, p := range pos {
		f.event(ctx, env, p, ledger.PayoutIntent)
	}
	f.crash(CrashAfterIntent)
	var errs []error
	for _, p := range pos {
		errs = append(errs, f.send(ctx, env, st, w, p))
	}
	return errors.Join(errs...)
}

// send calls the wallet for one payout in state intent and records the outcome.
func (f *Function) send(ctx context.Context, env *functions.Env, st *ledger.Store, w Wallet, p ledger.Payout) error {
	amounts := map[string]int64{}
	for _, it := range p.Items {
		amounts[it.Address] = it.Sent
	}
	txid, err := w.SendMany(ctx, amounts)
	walletError(p.Coin, err)
	var rpcErr *node.RPCError
	if errors.As(err, &rpcErr) {
		// The wallet judged the request and sent nothing.
		failed, ferr := st.FailPayout(ctx, p.ID, rpcErr.Message)
		if ferr != nil {
			return ferr
		}
		if failed {
			mPayouts.WithLabelValues(p.Coin, ledger.PayoutFailed).Inc()
		}
		p.Error = rpcErr.Message
		f.event(ctx, env, p, ledger.PayoutFailed)
		return fmt.Errorf("payout %s failed: %w", p.ID, err)
	}
	if err != nil {
		return fmt.Errorf("payout %s: wallet unreachable, will reconcile: %w", p.ID, err)
	}
	f.crash(CrashAfterSend)
	if err := st.MarkPayoutSent(ctx, p.ID, txid); err != nil {
		return err
	}
	countSent(p, ledger.PayoutSent)
	f.crash(CrashAfterRecord)
	p.TxID, p.State = txid, ledger.PayoutSent
	env.Log.Info("payout sent", "id", p.ID, "txid", txid, "recipients", len(p.Items))
	f.event(ctx, env, p, ledger.PayoutSent)
	return nil
}

// resolve settles intents: a wallet transaction matching the payout's
// outputs (and not recorded for another payout) is its transaction;
// without one, the wallet never sent it and it is sent now.
func (f *Function) resolve(ctx context.Context, env *functions.Env, st *ledger.Store, w Wallet, open []ledger.Payout) error {
	n := f.ListCount
	if n == 0 {
		n = 1000
	}
	txs, err := w.SentTxs(ctx, n)
	if err != nil {
		walletError(open[0].Coin, err)
		return fmt.Errorf("listtransactions: %w", err)
	}
	known, err := st.KnownTxIDs(ctx, open[0].Coin)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range open {
		var match string
		for id, tx := range txs {
			if !known[id] && sameOutputs(tx.Outputs, p.Items) {
				match = id
				break
			}
		}
		if match == "" {
			env.Log.Warn("payout intent without a wallet transaction; sending it now", "id", p.ID)
			errs = append(errs, f.send(ctx, env, st, w, p))
			continue
		}
		env.Log.Warn("payout intent matched a wallet transaction after a restart", "id", p.ID, "txid", match)
		if err := st.MarkPayoutSent(ctx, p.ID, match); err != nil {
			errs = append(errs, err)
			continue
		}
		countSent(p, stateReconciled)
		known[match] = true
		p.TxID, p.State = match, ledger.PayoutSent
		f.event(ctx, env, p, ledger.PayoutSent)
	}
	return errors.Join(errs...)
}

func sameOutputs(outs map[string]int64, items []ledger.PayoutItem) bool {
	if len(outs) != len(items) {
		return false
	}
	for _, it := range items {
		if outs[it.Address] != it.Sent {
			return false
		}
	}
	return true
}

func (f *Function) crash(point string) {
	if f.CrashAt == point {
		os.Exit(3)
	}
}

func (f *Function) event(ctx context.Context, env *functions.Env, p ledger.Payout, step string) {
	p.State = step
	data, _ := json.Marshal(p)
	if _, err := env.JS.Publish(ctx, streams.EventSubject("payout", p.Coin, step), data, jetstream.WithMsgID("payout-"+p.ID+"-"+step)); err != nil {
		env.Log.Warn("payout event not published", "id", p.ID, "step", step, "err", err)
	}
}

// Reconcile reports the wallet balance against what the pool owes.
func (f *Function) Reconcile(ctx context.Context, env *functions.Env, st *ledger.Store, coin string) (Reconciliation, error) {
	cc, _, err := kv.Get[config.Coin](ctx, env.KV.Coins, coin)
	if err != nil {
		return Reconciliation{}, err
	}
	w, err := wallet(cc, env)
	if err != nil {
		return Reconciliation{}, err
	}
	owed, err := st.Owed(ctx, coin)
	if err != nil {
		return Reconciliation{}, err
	}
	bal, err := w.Balance(ctx)
	if err != nil {
		walletError(coin, err)
		return Reconciliation{}, fmt.Errorf("wallet balance: %w", err)
	}
	return Reconciliation{Owed: owed, WalletBalance: bal, Surplus: bal - owed.Balances - owed.InFlight}, nil
}

// lockCoin takes a session advisory lock so one copy pays a coin at a time.
func lockCoin(ctx context.Context, pool *pgxpool.Pool, coin string) (func(), error) {
	h := fnv.New64a()
	h.Write([]byte("payouts:" + coin))
	key := int64(h.Sum64())
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		conn.Release()
		return nil, err
	}
	return func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
		conn.Release()
	}, nil
}
