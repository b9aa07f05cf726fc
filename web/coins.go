package web

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"sync"

	"github.com/labstack/echo/v4"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/config"
	"github.com/jetpool/jetpool/kv"
)

// coinRegistry mirrors the `coins` KV bucket: what the web serves follows
// it live — a coin put there appears, a disabled or deleted one is gone,
// without a restart.
type coinRegistry struct {
	mu    sync.RWMutex
	coins map[string]config.Coin
}

// watchCoins fills a registry from the bucket and keeps it current until ctx
// ends. An invalid entry is refused (logged and counted by kv) and the
// coin's last good configuration stays.
func watchCoins(ctx context.Context, b jetstream.KeyValue, log *slog.Logger) (*coinRegistry, error) {
	r := &coinRegistry{coins: map[string]config.Coin{}}
	err := kv.WatchBucket(ctx, b, config.Coin.Validate, func(key string, c config.Coin, deleted bool) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if deleted {
			delete(r.coins, key)
			return
		}
		r.coins[key] = c
	}, log)
	return r, err
}

// list returns every registered coin, by symbol.
func (r *coinRegistry) list() []config.Coin {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]config.Coin, 0, len(r.coins))
	for _, c := range r.coins {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Symbol < out[j].Symbol })
	return out
}

// enabled returns the coin when it is registered and enabled.
func (r *coinRegistry) enabled(symbol string) (config.Coin, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.coins[symbol]
	return c, ok && c.Enabled
}

// coinKey is where requireCoin leaves the coin for handlers.
const coinKey = "coin"

// requireCoin answers 404 for a coin the registry does not serve.
func (r *coinRegistry) requireCoin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		sym := c.Param("coin")
		coin, ok := r.enabled(sym)
		if !ok {
			return echo.NewHTTPError(http.StatusNotFound, "unknown coin "+quote(sym))
		}
		c.Set(coinKey, coin)
		return next(c)
	}
}

// publicCoin is what a guest may see of a coin's configuration: never its
// node or wallet credentials.
type publicCoin struct {
	Symbol  string                      `json:"symbol"`
	Network string                      `json:"network"`
	Enabled bool                        `json:"enabled"`
	Regions map[string]config.Listeners `json:"regions"`
}

func public(c config.Coin) publicCoin {
	return publicCoin{Symbol: c.Symbol, Network: c.Network, Enabled: c.Enabled, Regions: c.Regions}
}
