package payload

import (
	"encoding/json"
	"strconv"
	"time"
)

// ShareBatch is one message on shares.<coin>.<region>: the shares a gateway
// checked in one batch. Its NATS message id is "<gateway>-<seq>", so a
// republished batch is dropped by the stream; a share's unique id is
// (Gateway, Seq, index in Shares).
type ShareBatch struct {
	Gateway string  `json:"gw"`
	Coin    string  `json:"coin"`
	Region  string  `json:"region"`
	Seq     uint64  `json:"seq"`
	Shares  []Share `json:"shares"`
}

// MsgID is the de-duplication id of the batch.
func (b *ShareBatch) MsgID() string { return b.Gateway + "-" + strconv.FormatUint(b.Seq, 10) }

// Share is one checked share, accepted or rejected.
type Share struct {
	TimeMs            int64   `json:"t"`            // unix milliseconds at the gateway
	Address           string  `json:"addr"`         // miner payout address
	Worker            string  `json:"w"`            // worker name ("" = default)
	Difficulty        float64 `json:"d"`            // share target difficulty credited
	ActualDifficulty  float64 `json:"ad,omitempty"` // difficulty the hash actually met
	Height            int64   `json:"h"`            // height of the block being mined
	NetworkDifficulty float64 `json:"nd"`
	JobID             string  `json:"j,omitempty"`
	Accepted          bool    `json:"ok"`
	Reason            string  `json:"r,omitempty"` // why rejected: stale, duplicate, low-difficulty, …
	Block             bool    `json:"b,omitempty"` // met the network target
	Solo              bool    `json:"solo,omitempty"`
}

// BlockFound is published on blocks.<coin>.found with the block hash as
// message id. It carries everything needed to rebuild the block from the
// template in the object store and to record it in the ledger.
type BlockFound struct {
	Coin       string          `json:"coin"`
	Network    string          `json:"network"`
	Region     string          `json:"region"`
	Gateway    string          `json:"gw"`
	Height     int64           `json:"height"`
	Hash       string          `json:"hash"` // block id, display (big-endian) hex
	TemplateID string          `json:"template_id"`
	Job        json.RawMessage `json:"job"` // the coin.Job the share solved
	// The solution.
	Extranonce1 string `json:"extranonce1"`
	Extranonce2 string `json:"extranonce2"`
	NTime       uint32 `json:"ntime"`
	Nonce       uint32 `json:"nonce"`
	Version     uint32 `json:"version"`
	// Ledger facts.
	Address           string    `json:"address"`
	Worker            string    `json:"worker"`
	ShareDifficulty   float64   `json:"share_difficulty"`
	ActualDifficulty  float64   `json:"actual_difficulty"`
	NetworkDifficulty float64   `json:"network_difficulty"`
	CoinbaseValue     int64     `json:"coinbase_value"`
	Solo              bool      `json:"solo,omitempty"`
	Time              time.Time `json:"time"`
}

// Block submission outcomes.
const (
	SubmitAccepted = "accepted" // the node took the block (or already had it)
	SubmitRejected = "rejected" // the node said the block is invalid
	SubmitStale    = "stale"    // another block won the height first
)

// BlockSubmitted is published on blocks.<coin>.submitted and as an event.
type BlockSubmitted struct {
	Coin     string    `json:"coin"`
	Height   int64     `json:"height"`
	Hash     string    `json:"hash"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason,omitempty"` // node's reject reason
	Attempts int       `json:"attempts"`
	Time     time.Time `json:"time"`
}

// Worker event names (events.worker.<coin>.<name>).
const (
	WorkerConnected    = "connected"
	WorkerAuthorized   = "authorized"
	WorkerDisconnected = "disconnected"
	WorkerBanned       = "banned"
)

// WorkerEvent is published on events.worker.<coin>.<event>.
type WorkerEvent struct {
	Event     string    `json:"event"`
	Coin      string    `json:"coin"`
	Region    string    `json:"region"`
	Gateway   string    `json:"gw"`
	Session   string    `json:"session"` // extranonce1 hex
	RemoteIP  string    `json:"ip"`
	Address   string    `json:"address,omitempty"`
	Worker    string    `json:"worker,omitempty"`
	UserAgent string    `json:"agent,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Time      time.Time `json:"time"`
}

// Ban is a value in KV bucket `bans`, keyed "ip.<ip>" or "addr.<address>".
type Ban struct {
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
	By     string    `json:"by"` // gateway id or admin user
}

// Active reports whether the ban is in force at now.
func (b Ban) Active(now time.Time) bool { return now.Before(b.Until) }

// VardiffState is a value in KV bucket `vardiff`, keyed
// "<coin>.<address>.<worker>" (each part kv.SafeKey-escaped).
type VardiffState struct {
	Difficulty float64   `json:"difficulty"`
	Updated    time.Time `json:"updated"`
}
