package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/nats-io/nats.go"
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
	e.Use(observe(env.Log), middleware.BodyLimit("64K"), middleware.Recover())
	e.HTTPErrorHandler = errorHandler(env.Log)
	env.RegisterMetrics(responses)
	reg, err := watchCoins(ctx, env.KV.Coins, env.Log)
	if err != nil {
		return fmt.Errorf("web: %w", err)
	}
	api := &api{env: env, coins: reg}
	g := e.Group("/api")
	g.GET("/coins", api.listCoins)
	g.GET("/services", api.services)
	cg := g.Group("/coins/:coin", reg.requireCoin)
	cg.GET("", api.coin)
	cg.GET("/pool", api.pool)
	cg.GET("/blocks", api.blocks)
	cg.GET("/hashrate", api.poolSeries)
	cg.GET("/miners/:address", api.miner)
	cg.GET("/miners/:address/workers", api.workers)
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

type api struct {
	env   *functions.Env
	coins *coinRegistry
}

func (a *api) listCoins(c echo.Context) error {
	out := []publicCoin{}
	for _, coin := range a.coins.list() {
		out = append(out, public(coin))
	}
	return c.JSON(http.StatusOK, out)
}

func (a *api) coin(c echo.Context) error {
	return c.JSON(http.StatusOK, public(c.Get(coinKey).(config.Coin)))
}

func (a *api) pool(c echo.Context) error {
	return a.ask(c, subjectPool, map[string]any{"coin": c.Param("coin")})
}

// blocks lists the coin's latest blocks (?limit=1..1000, default 50).
func (a *api) blocks(c echo.Context) error {
	limit, err := intParam(c, "limit", 50, 1, 1000)
	if err != nil {
		return err
	}
	return a.ask(c, subjectBlocks, map[string]any{"coin": c.Param("coin"), "limit": limit})
}

// poolSeries is the pool's hashrate chart (?range=24h|30d).
func (a *api) poolSeries(c echo.Context) error {
	rng, err := rangeParam(c)
	if err != nil {
		return err
	}
	return a.ask(c, subjectSeries, map[string]any{"coin": c.Param("coin"), "range": rng})
}

// miner is one address's hashrate, or one worker's with ?worker=NAME.
func (a *api) miner(c echo.Context) error {
	addr, err := addressParam(c)
	if err != nil {
		return err
	}
	req := map[string]any{"coin": c.Param("coin"), "address": addr}
	if c.QueryParams().Has("worker") {
		w := c.QueryParam("worker")
		if !workerRe.MatchString(w) {
			return echo.NewHTTPError(http.StatusBadRequest, "worker must be up to 64 letters, digits, '.', '_' or '-'")
		}
		req["worker"] = w
	}
	return a.ask(c, subjectHashrate, req)
}

func (a *api) workers(c echo.Context) error {
	addr, err := addressParam(c)
	if err != nil {
		return err
	}
	return a.ask(c, subjectWorkers, map[string]any{"coin": c.Param("coin"), "address": addr})
}

// An address is checked for shape only: the web holds no coin code (the
// functions answer 400 for an address their coin refuses).
var (
	addressRe = regexp.MustCompile(`^[0-9A-Za-z:]{1,128}$`)
	workerRe  = regexp.MustCompile(`^[0-9A-Za-z._-]{0,64}$`)
)

func addressParam(c echo.Context) (string, error) {
	a := c.Param("address")
	if !addressRe.MatchString(a) {
		return "", echo.NewHTTPError(http.StatusBadRequest, "address must be 1-128 letters, digits or ':'")
	}
	return a, nil
}

func rangeParam(c echo.Context) (string, error) {
	switch r := c.QueryParam("range"); r {
	case "":
		return "24h", nil
	case "24h", "30d":
		return r, nil
	default:
		return "", echo.NewHTTPError(http.StatusBadRequest, "range must be 24h or 30d, got "+quote(r))
	}
}

func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, echo.NewHTTPError(http.StatusBadRequest, fmt.Sprintf("%s must be an integer from %d to %d, got %s", name, lo, hi, quote(v)))
	}
	return n, nil
}

// quote shows a client's value in an error, shortened and escaped.
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
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
