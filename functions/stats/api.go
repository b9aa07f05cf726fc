package stats

import (
	"encoding/json"

	"github.com/jetpool/jetpool/internal/chstore"
)

// Endpoint subjects (micro service "stats", group "stats").
const (
	SubjectHashrate = "stats.hashrate"
	SubjectSeries   = "stats.series"
	SubjectWorkers  = "stats.workers"
	SubjectPool     = "stats.pool"
	SubjectPPLNS    = "stats.pplns"
	SubjectWindow   = "stats.window"
)

// ScopeRequest names what a statistic is about: a coin's pool, one miner
// (address) or one worker (address and worker; "" is the default worker).
// AtMs (unix ms) asks about another moment than now.
type ScopeRequest struct {
	Coin    string  `json:"coin"`
	Address string  `json:"address,omitempty"`
	Worker  *string `json:"worker,omitempty"`
	AtMs    int64   `json:"at_ms,omitempty"`
}

// HashrateReply answers stats.hashrate.
type HashrateReply struct {
	Coin    string     `json:"coin"`
	Scope   string     `json:"scope"` // pool, miner or worker
	Address string     `json:"address,omitempty"`
	Worker  *string    `json:"worker,omitempty"`
	Windows []Estimate `json:"windows"` // 10m, 1h, 24h
}

// SeriesRequest asks for a chart: Range "24h" (5-minute buckets) or "30d"
// (hourly buckets).
type SeriesRequest struct {
	ScopeRequest
	Range string `json:"range"`
}

// SeriesReply answers stats.series.
type SeriesReply struct {
	Coin        string  `json:"coin"`
	Scope       string  `json:"scope"`
	StepSeconds int64   `json:"step_seconds"`
	Points      []Point `json:"points"`
}

// Point is one bucket of a chart.
type Point struct {
	TimeMs     int64   `json:"t"`
	Shares     uint64  `json:"shares"`
	Difficulty float64 `json:"difficulty"`
	Hashrate   float64 `json:"hashrate"`
}

// WorkersRequest asks for the workers of a miner.
type WorkersRequest struct {
	Coin    string `json:"coin"`
	Address string `json:"address"`
	AtMs    int64  `json:"at_ms,omitempty"`
}

// WorkersReply answers stats.workers.
type WorkersReply struct {
	Coin          string       `json:"coin"`
	Address       string       `json:"address"`
	OfflineAfterS float64      `json:"offline_after_s"`
	Online        int          `json:"online"`
	Workers       []WorkerInfo `json:"workers"`
}

// WorkerInfo is one worker. Counts and rates cover the last 24 hours.
type WorkerInfo struct {
	Worker      string     `json:"worker"`
	LastShareMs int64      `json:"last_share_ms,omitempty"`
	Online      bool       `json:"online"`
	Hashrate    []Estimate `json:"hashrate"`
	Accepted    uint64     `json:"accepted"`
	Rejected    uint64     `json:"rejected"`
	Stale       uint64     `json:"stale"`
	RejectRate  float64    `json:"reject_rate"` // rejected ÷ (accepted + rejected)
	StaleRate   float64    `json:"stale_rate"`
	SharesPerS  float64    `json:"shares_per_s"` // accepted
}

// PoolRequest asks for a coin's pool figures.
type PoolRequest struct {
	Coin string `json:"coin"`
	AtMs int64  `json:"at_ms,omitempty"`
}

// PoolReply answers stats.pool.
type PoolReply struct {
	Coin              string            `json:"coin"`
	Workers           uint64            `json:"workers"` // online: a share within offline_after
	Miners            uint64            `json:"miners"`
	Hashrate          []Estimate        `json:"hashrate"`
	SharesPerS        float64           `json:"shares_per_s"` // accepted, over 10 minutes
	Rejected24h       uint64            `json:"rejected_24h"`
	Stale24h          uint64            `json:"stale_24h"`
	NetworkDifficulty float64           `json:"network_difficulty"`
	Height            int64             `json:"height"`
	LastShareMs       int64             `json:"last_share_ms,omitempty"`
	LastBlock         *chstore.ShareRef `json:"last_block,omitempty"`
	// RoundDifficulty is Σ pool share difficulty since the last pool block;
	// RoundEffort is it ÷ network difficulty (1 = a block's worth).
	RoundDifficulty float64 `json:"round_difficulty"`
	RoundEffort     float64 `json:"round_effort"`
}

// PPLNSRequest asks for the PPLNS window of a block: by Height, or by
// EndMs (and the block share's id when known). N defaults to
// pool.pplns_window; NetworkDifficulty to the block share's; AsOfS (unix
// seconds, ClickHouse clock) pins the snapshot for a reproducible answer.
type PPLNSRequest struct {
	Coin              string  `json:"coin"`
	Height            int64   `json:"height,omitempty"`
	EndMs             int64   `json:"end_ms,omitempty"`
	Gateway           string  `json:"gateway,omitempty"`
	Seq               *uint64 `json:"seq,omitempty"`
	Idx               *uint32 `json:"idx,omitempty"`
	NetworkDifficulty float64 `json:"network_difficulty,omitempty"`
	N                 float64 `json:"n,omitempty"`
	AsOfS             int64   `json:"as_of,omitempty"`
}

// WindowRequest is the rewards function's question (see functions/rewards:
// WindowSource): the work of pool shares with time < Until, for "pplns" the
// most recent ones adding up to Work, for "round" those with time >= From
// (every share kept when From is absent: the coin's first round).
type WindowRequest struct {
	Coin  string          `json:"coin"`
	Kind  string          `json:"kind"`
	Until json.RawMessage `json:"until"`
	From  json.RawMessage `json:"from,omitempty"`
	Work  float64         `json:"work,omitempty"`
}

// WindowReply answers stats.window: work per address. Work is a float64
// for display; Units are exact integers in units of 2^ScaleExp whose sum is
// TotalUnits. When the miners would not fit one NATS message they are in
// the WindowBucket object store instead: Miners is null and Object says
// where (decode with DecodeWindowMiners after checking the SHA-256).
type WindowReply struct {
	Miners     []MinerWork    `json:"miners"`
	Object     *WindowObject  `json:"object,omitempty"`
	ScaleExp   int            `json:"scale_exp"`
	TotalUnits *chstore.Units `json:"total_units"`
	Complete   bool           `json:"complete"`
	AsOfS      int64          `json:"as_of"`
}

// MinerWork is one address's work.
type MinerWork struct {
	Address string         `json:"address"`
	Work    float64        `json:"work"`
	Units   *chstore.Units `json:"units"`
}
