package functions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Handler processes one message. Return nil to ack, Permanent(err) to
// terminate the message (it can never succeed), RetryAfter(err, d) to nak
// with a chosen delay, any other error to nak with a growing delay.
type Handler func(ctx context.Context, msg jetstream.Msg) error

type permanentError struct{ err error }

func (e permanentError) Error() string { return "permanent: " + e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying: the message is terminated.
func Permanent(err error) error { return permanentError{err} }

// IsPermanent reports whether err was marked Permanent.
func IsPermanent(err error) bool { var p permanentError; return errors.As(err, &p) }

type retryError struct {
	err   error
	after time.Duration
}

func (e retryError) Error() string { return e.err.Error() }
func (e retryError) Unwrap() error { return e.err }

// RetryAfter asks for redelivery after d.
func RetryAfter(err error, d time.Duration) error { return retryError{err, d} }

// Backoff is the redelivery delay after the n-th failed delivery.
func Backoff(delivered uint64) time.Duration {
	steps := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}
	if delivered == 0 {
		delivered = 1
	}
	if int(delivered) > len(steps) {
		return steps[len(steps)-1]
	}
	return steps[delivered-1]
}

// ConsumeOptions tune Consume.
type ConsumeOptions struct {
	// MaxMessages is how many messages are buffered per pull (default 256).
	MaxMessages int
	// DrainTimeout bounds waiting for in-flight handlers at shutdown (default 30s).
	DrainTimeout time.Duration
}

var handled = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "jetpool", Subsystem: "functions", Name: "messages_total",
	Help: "Messages handled by durable consumers, by outcome (ack, nak, term).",
}, []string{"consumer", "outcome"})

// Collectors returns the runtime's metrics for registration.
func Collectors() []prometheus.Collector { return []prometheus.Collector{handled, serviceErrors} }

// Consume runs h on every message of the declared durable consumer (see
// package streams) until ctx ends, then drains: no new messages are pulled,
// in-flight handlers finish and their acks are sent. Every copy of the
// function shares the durable, so each message is handled by one copy.
func Consume(ctx context.Context, env *Env, stream, durable string, h Handler, opts ConsumeOptions) error {
	if opts.MaxMessages == 0 {
		opts.MaxMessages = 256
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	cons, err := env.JS.Consumer(ctx, stream, durable)
	if err != nil {
		return fmt.Errorf("functions: consumer %s/%s: %w", stream, durable, err)
	}
	// Handlers keep running through the drain, so they get a context that is
	// not cancelled with ctx.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	log := env.Log.With("consumer", durable)
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		err := h(hctx, msg)
		switch {
		case err == nil:
			if aerr := msg.Ack(); aerr != nil {
				log.Warn("ack failed; message will be redelivered", "err", aerr)
			}
			handled.WithLabelValues(durable, "ack").Inc()
		case IsPermanent(err):
			log.Error("message terminated", "subject", msg.Subject(), "err", err)
			_ = msg.TermWithReason(err.Error())
			handled.WithLabelValues(durable, "term").Inc()
		default:
			delay := Backoff(deliveries(msg))
			var r retryError
			if errors.As(err, &r) {
				delay = r.after
			}
			log.Warn("message will be retried", "subject", msg.Subject(), "delay", delay, "err", err)
			_ = msg.NakWithDelay(delay)
			handled.WithLabelValues(durable, "nak").Inc()
		}
	}, jetstream.PullMaxMessages(opts.MaxMessages), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !errors.Is(err, jetstream.ErrNoHeartbeat) {
			log.Warn("consume", "err", err)
		}
	}))
	if err != nil {
		return fmt.Errorf("functions: consume %s/%s: %w", stream, durable, err)
	}
	<-ctx.Done()
	cc.Drain()
	select {
	case <-cc.Closed():
	case <-time.After(opts.DrainTimeout):
		log.Warn("drain timed out; unacked messages will be redelivered")
		cc.Stop()
	}
	return nil
}

func deliveries(msg jetstream.Msg) uint64 {
	md, err := msg.Metadata()
	if err != nil {
		return 1
	}
	return md.NumDelivered
}
