package jsretry

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Attempts and Pause bound a retry: about 15 s, long enough for a 3-node
// cluster to elect a meta leader after a restart.
const (
	Attempts = 60
	Pause    = 250 * time.Millisecond
)

// Value calls f until it succeeds, fails with a non-transient error, ctx
// ends or Attempts run out; it returns the last error then.
func Value[T any](ctx context.Context, f func() (T, error)) (T, error) {
	var last error
	for range Attempts {
		v, err := f()
		if err == nil || !Transient(err) {
			return v, err
		}
		last = err
		select {
		case <-ctx.Done():
			var zero T
			return zero, errors.Join(ctx.Err(), last)
		case <-time.After(Pause):
		}
	}
	var zero T
	return zero, last
}

// Do is Value for calls without a result.
func Do(ctx context.Context, f func() error) error {
	_, err := Value(ctx, func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// Transient reports whether err is one JetStream gives while it is not yet
// able to answer: no meta leader (503 / 10008), JetStream not enabled yet,
// no responders, timeouts.
func Transient(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code == 503 || apiErr.ErrorCode == 10008
	}
	return errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrNoHeartbeat) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded)
}
