package functions

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/micro"
	"github.com/prometheus/client_golang/prometheus"
)

// Version is reported by every micro service of this build.
var Version = "0.1.0"

var serviceErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "jetpool", Subsystem: "functions", Name: "service_errors_total",
	Help: "Asynchronous errors reported to micro services (slow consumers and the like).",
}, []string{"service"})

// Announce registers this copy of a function as a nats micro service named
// after it (so `$SRV.PING.<name>` finds every copy) and stops it when ctx
// ends. Request/reply functions add endpoints to the returned service; each
// endpoint is a queue subscription shared by all copies.
func Announce(ctx context.Context, env *Env, name, description string) (micro.Service, error) {
	log := env.Log
	svc, err := micro.AddService(env.NC, micro.Config{
		Name:        name,
		Version:     Version,
		Description: description,
		Metadata:    map[string]string{"instance": env.Instance},
		ErrorHandler: func(_ micro.Service, e *micro.NATSError) {
			serviceErrors.WithLabelValues(name).Inc()
			log.Error("micro service async error", "service", name, "subject", e.Subject, "err", e.Description)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("functions: announce %s: %w", name, err)
	}
	context.AfterFunc(ctx, func() {
		if err := svc.Stop(); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("stop micro service", "service", name, "err", err)
		}
	})
	return svc, nil
}
