package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one dependency is usable right now.
type Check func(ctx context.Context) error

// Readiness is the set of checks behind /readyz. Parts of a process add their
// own checks as they start; the process is ready when all pass.
type Readiness struct {
	mu     sync.Mutex
	checks map[string]Check
}

// NewReadiness returns an empty set; an empty set is ready.
func NewReadiness() *Readiness { return &Readiness{checks: map[string]Check{}} }

// Add registers (or replaces) a named check.
func (r *Readiness) Add(name string, c Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks[name] = c
}

// Remove drops a named check.
func (r *Readiness) Remove(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.checks, name)
}

// Status runs every check with a short deadline and returns name → error text
// ("" when passing) and whether all passed.
func (r *Readiness) Status(ctx context.Context) (map[string]string, bool) {
	r.mu.Lock()
	checks := make(map[string]Check, len(r.checks))
	for k, v := range r.checks {
		checks[k] = v
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	out := make(map[string]string, len(checks))
	ok := true
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := ""
			if err := c(ctx); err != nil {
				msg = err.Error()
			}
			mu.Lock()
			defer mu.Unlock()
			out[name] = msg
			if msg != "" {
				ok = false
			}
		}()
	}
	wg.Wait()
	return out, ok
}

// NewRegistry returns a Prometheus registry with Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Server is a running ops endpoint.
type Server struct {
	srv  *http.Server
	addr string
	done chan struct{}
}

// Serve listens on addr (e.g. "127.0.0.1:0") and serves the endpoints until
// Shutdown. Mount adds extra handlers (may be nil).
func Serve(addr string, reg *prometheus.Registry, ready *Readiness, log *slog.Logger, mount func(*http.ServeMux)) (*Server, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		status, ok := ready.Status(r.Context())
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ready": ok, "checks": status})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	if mount != nil {
		mount(mux)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ops: listen %s: %w", addr, err)
	}
	s := &Server{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, addr: ln.Addr().String(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("ops endpoint stopped", "err", err)
		}
	}()
	return s, nil
}

// Addr is the bound host:port.
func (s *Server) Addr() string { return s.addr }

// URL is http://host:port.
func (s *Server) URL() string { return "http://" + s.addr }

// Shutdown stops the endpoint.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	<-s.done
	return err
}

// NewLogger returns a JSON slog logger at the named level (debug, info, warn, error).
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("ops: log level %q: %w", level, err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}
