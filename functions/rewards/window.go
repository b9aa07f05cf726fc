package rewards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/jetpool/jetpool/internal/ledger"
)

// WindowSubject is the statistics service's window endpoint.
const WindowSubject = "stats.window"

// Window kinds.
const (
	KindPPLNS = "pplns"
	KindRound = "round"
)

// WindowRequest asks for per-miner share work.
type WindowRequest struct {
	Coin  string    `json:"coin"`
	Kind  string    `json:"kind"`
	Until time.Time `json:"until"`
	From  time.Time `json:"from,omitzero"` // round start (KindRound)
	Work  float64   `json:"work,omitempty"`
}

// MinerWork is one miner's summed share difficulty.
type MinerWork struct {
	Address string  `json:"address"`
	Work    float64 `json:"work"`
}

// WindowReply is the statistics service's answer.
type WindowReply struct {
	Miners []MinerWork `json:"miners"`
}

// WindowSource provides the share work a split needs.
type WindowSource interface {
	// PPLNSWindow returns the work of the most recent shares before until
	// that add up to work (N × network difficulty).
	PPLNSWindow(ctx context.Context, coin string, until time.Time, work float64) ([]MinerWork, error)
	// RoundWork returns the work of every share in [from, until).
	RoundWork(ctx context.Context, coin string, from, until time.Time) ([]MinerWork, error)
}

// NATSWindow asks the statistics service over NATS request/reply.
type NATSWindow struct {
	NC      *nats.Conn
	Timeout time.Duration // default 30s
}

// PPLNSWindow implements WindowSource.
func (w NATSWindow) PPLNSWindow(ctx context.Context, coin string, until time.Time, work float64) ([]MinerWork, error) {
	return w.ask(ctx, WindowRequest{Coin: coin, Kind: KindPPLNS, Until: until, Work: work})
}

// RoundWork implements WindowSource.
func (w NATSWindow) RoundWork(ctx context.Context, coin string, from, until time.Time) ([]MinerWork, error) {
	return w.ask(ctx, WindowRequest{Coin: coin, Kind: KindRound, From: from, Until: until})
}

func (w NATSWindow) ask(ctx context.Context, req WindowRequest) ([]MinerWork, error) {
	t := w.Timeout
	if t == 0 {
		t = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, t)
	defer cancel()
	data, _ := json.Marshal(req)
	msg, err := w.NC.RequestWithContext(ctx, WindowSubject, data)
	if err != nil {
		return nil, fmt.Errorf("rewards: window: %w", err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		return nil, fmt.Errorf("rewards: window: %s %s", code, msg.Header.Get("Nats-Service-Error"))
	}
	var rep WindowReply
	if err := json.Unmarshal(msg.Data, &rep); err != nil {
		return nil, fmt.Errorf("rewards: window reply: %w", err)
	}
	return rep.Miners, nil
}

// ToLedger converts summed difficulties to ledger work units.
func ToLedger(ws []MinerWork) ([]ledger.MinerWork, error) {
	out := make([]ledger.MinerWork, 0, len(ws))
	var errs []error
	for _, w := range ws {
		u, err := ledger.WorkUnits(w.Work)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", w.Address, err))
			continue
		}
		out = append(out, ledger.MinerWork{Address: w.Address, Work: u})
	}
	return out, errors.Join(errs...)
}
