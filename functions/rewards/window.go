package rewards

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/functions/stats"
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

// WindowReply is the statistics service's answer: the miners inline, or,
// when they would not fit one NATS message, a pointer to them in the
// stats.WindowBucket object store.
type WindowReply struct {
	Miners []MinerWork         `json:"miners"`
	Object *stats.WindowObject `json:"object,omitempty"`
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
	NC *nats.Conn
	// JS reads answers stored in the object store (default: a JetStream
	// context on NC).
	JS      jetstream.JetStream
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
	if rep.Object != nil {
		return w.fetch(ctx, rep.Object)
	}
	return rep.Miners, nil
}

// fetch reads a stored answer and checks it is exactly the one pointed at.
func (w NATSWindow) fetch(ctx context.Context, o *stats.WindowObject) ([]MinerWork, error) {
	if o.Bucket != stats.WindowBucket {
		return nil, fmt.Errorf("rewards: window object in bucket %q, want %q", o.Bucket, stats.WindowBucket)
	}
	js := w.JS
	if js == nil {
		var err error
		if js, err = jetstream.New(w.NC); err != nil {
			return nil, fmt.Errorf("rewards: window object: %w", err)
		}
	}
	obs, err := js.ObjectStore(ctx, o.Bucket)
	if err != nil {
		return nil, fmt.Errorf("rewards: window object store: %w", err)
	}
	data, err := obs.GetBytes(ctx, o.Name)
	if err != nil {
		return nil, fmt.Errorf("rewards: window object %s: %w", o.Name, err)
	}
	sum := sha256.Sum256(data)
	if len(data) != o.Size || hex.EncodeToString(sum[:]) != o.SHA256 {
		return nil, fmt.Errorf("rewards: window object %s: %d bytes with SHA-256 %x, reply said %d bytes %s",
			o.Name, len(data), sum, o.Size, o.SHA256)
	}
	ms, err := stats.DecodeWindowMiners(data)
	if err != nil {
		return nil, fmt.Errorf("rewards: window object %s: %w", o.Name, err)
	}
	if len(ms) != o.Miners {
		return nil, fmt.Errorf("rewards: window object %s: %d miners, reply said %d", o.Name, len(ms), o.Miners)
	}
	out := make([]MinerWork, len(ms))
	for i, m := range ms {
		out[i] = MinerWork{Address: m.Address, Work: m.Work}
	}
	return out, nil
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
