// Package ops serves the operations endpoint every jetpool process exposes:
// /healthz (the process is alive), /readyz (NATS, streams and the process's
// own dependencies answer) and /metrics (Prometheus). It also builds the JSON
// slog logger processes inject into their parts.
package ops
