package functions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/jetpool/jetpool/internal/ops"
	"github.com/jetpool/jetpool/kv"
	"github.com/jetpool/jetpool/streams"
)

// Function is one stateless handler. Run blocks until ctx ends (then drains
// and returns nil) or the function fails for good (then returns the error).
// Any number of copies may run at once, in one process or many.
type Function interface {
	Name() string
	Run(ctx context.Context, env *Env) error
}

// Env is everything a function may use. It is the same in `jetpool dev` and
// in a role process; a function cannot tell which it is in.
type Env struct {
	NC       *nats.Conn
	JS       jetstream.JetStream
	KV       *kv.Store
	Streams  streams.Options
	Log      *slog.Logger
	Metrics  prometheus.Registerer
	Ready    *ops.Readiness
	Instance string // unique name of this process, for logs and micro metadata
	Deps     Deps
}

// RegisterMetrics registers a function's collectors with e.Metrics, when
// it is set. A collector already registered (by another copy of the
// function in the same process) is left as it is.
func (e *Env) RegisterMetrics(cs ...prometheus.Collector) {
	if e.Metrics == nil {
		return
	}
	for _, c := range cs {
		_ = e.Metrics.Register(c)
	}
}

// Deps are the addresses of the stores a function may need.
type Deps struct {
	PostgresDSN   string
	ClickHouseDSN string
}

// Factory makes a new copy of a function.
type Factory func() Function

// Registry maps function names to factories.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Factory{}} }

// Register adds a factory; registering a name twice panics (a wiring bug).
func (r *Registry) Register(name string, f Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic("functions: duplicate registration of " + name)
	}
	r.m[name] = f
}

// ErrUnknownFunction is returned by New for a name nobody registered.
var ErrUnknownFunction = errors.New("unknown function")

// New makes a copy of the named function.
func (r *Registry) New(name string) (Function, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.m[name]
	if !ok {
		return nil, fmt.Errorf("functions: %w %q (known: %v)", ErrUnknownFunction, name, r.namesLocked())
	}
	return f(), nil
}

// Names lists registered functions in order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// RunAll runs every function until ctx ends. If one fails, the others are
// cancelled and the first error is returned (a process runs whole or not at all).
func RunAll(ctx context.Context, env *Env, fns ...Function) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			log := env.Log.With("function", fn.Name())
			fenv := *env
			fenv.Log = log
			err := fn.Run(ctx, &fenv)
			if err != nil && ctx.Err() == nil {
				log.Error("function failed; stopping the process", "err", err)
				once.Do(func() { firstErr = fmt.Errorf("function %s: %w", fn.Name(), err) })
				cancel()
			}
		}()
	}
	wg.Wait()
	return firstErr
}
