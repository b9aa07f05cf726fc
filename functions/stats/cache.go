package stats

import (
	"sync"
	"time"
)

// cache keeps answers for a short time: dashboards ask the same questions
// over and over, and the answer of a few seconds ago is as good.
type cache struct {
	mu  sync.Mutex
	max int
	m   map[string]cacheEntry
}

type cacheEntry struct {
	body    []byte
	expires time.Time
}

func newCache(max int) *cache { return &cache{max: max, m: map[string]cacheEntry{}} }

func (c *cache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || time.Now().After(e.expires) {
		return nil, false
	}
	return e.body, true
}

func (c *cache) put(key string, body []byte, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if now.After(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m) // everything is fresh: start over rather than grow
		}
	}
	c.m[key] = cacheEntry{body: body, expires: now.Add(ttl)}
}
