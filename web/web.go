package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nats.go/micro"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/kv"
)

// Server is the web unit.
type Server struct {
	// Addr is the listen address ("127.0.0.1:8080"; port 0 picks one).
	Addr string

	mu    sync.Mutex
	addr  string
	ready chan struct{}
}

// New returns a web server for addr.
func New(addr string) *Server { return &Server{Addr: addr, ready: make(chan struct{})} }

// Name implements functions.Function.
func (s *Server) Name() string { return "web" }

// Ready is closed when the server listens.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// URL is the server's base URL once ready.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return "http://" + s.addr
}

// Run implements functions.Function: it serves until ctx ends.
func (s *Server) Run(ctx context.Context, env *functions.Env) error {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.BodyLimit("64K"), middleware.Recover())
	e.HTTPErrorHandler = errorHandler(env.Log)
	api := &api{env: env}
	g := e.Group("/api")
	g.GET("/coins", api.coins)
	g.GET("/services", api.services)
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("web: listen %s: %w", s.Addr, err)
	}
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	srv := &http.Server{Handler: e, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	close(s.ready)
	env.Log.Info("web listening", "url", s.URL())
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
		return nil
	case err := <-done:
		return fmt.Errorf("web: %w", err)
	}
}

type api struct{ env *functions.Env }

// publicCoin is what a guest may see of a coin's configuration.
type publicCoin struct {
	Symbol  string                      `json:"symbol"`
	Network string                      `json:"network"`
	Enabled bool                        `json:"enabled"`
	Regions map[string]config.Listeners `json:"regions"`
}

func (a *api) coins(c echo.Context) error {
	ctx := c.Request().Context()
	keys, err := a.env.KV.Coins.Keys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return fmt.Errorf("list coins: %w", err)
	}
	sort.Strings(keys)
	out := []publicCoin{}
	for _, k := range keys {
		cfg, _, err := kv.Get[config.Coin](ctx, a.env.KV.Coins, k)
		if err != nil {
			continue
		}
		out = append(out, publicCoin{Symbol: cfg.Symbol, Network: cfg.Network, Enabled: cfg.Enabled, Regions: cfg.Regions})
	}
	return c.JSON(http.StatusOK, out)
}

// servicesView lists every live gateway (KV services) and every running
// function instance ($SRV.PING).
type servicesView struct {
	Gateways  []kv.ServiceRecord `json:"gateways"`
	Functions []functionInstance `json:"functions"`
}

type functionInstance struct {
	Name     string `json:"name"`
	ID       string `json:"id"`
	Version  string `json:"version"`
	Instance string `json:"instance"`
}

func (a *api) services(c echo.Context) error {
	ctx := c.Request().Context()
	gws, err := kv.ListServices(ctx, a.env.KV.Services, "gateway")
	if err != nil {
		return fmt.Errorf("list services: %w", err)
	}
	if gws == nil {
		gws = []kv.ServiceRecord{}
	}
	fns, err := ping(a.env.NC, 300*time.Millisecond)
	if err != nil {
		return fmt.Errorf("ping functions: %w", err)
	}
	return c.JSON(http.StatusOK, servicesView{Gateways: gws, Functions: fns})
}

// ping gathers every micro service's answer to $SRV.PING within wait.
func ping(nc *nats.Conn, wait time.Duration) ([]functionInstance, error) {
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest("$SRV.PING", inbox, nil); err != nil {
		return nil, err
	}
	out := []functionInstance{}
	deadline := time.Now().Add(wait)
	for {
		m, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			break
		}
		var p micro.Ping
		if json.Unmarshal(m.Data, &p) == nil {
			out = append(out, functionInstance{Name: p.Name, ID: p.ID, Version: p.Version, Instance: p.Metadata["instance"]})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// errorHandler answers every error as {"error": "..."} with a status, logs
// server-side failures and never leaks internals for 5xx.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		code, msg := http.StatusInternalServerError, "internal error"
		var he *echo.HTTPError
		if errors.As(err, &he) {
			code = he.Code
			msg = strings.TrimSpace(fmt.Sprint(he.Message))
		}
		if code >= 500 {
			log.Error("web request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
		}
		_ = c.JSON(code, map[string]string{"error": msg})
	}
}
