package gateway

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/stratum"
	"github.com/jetpool/jetpool/internal/target"
	"github.com/jetpool/jetpool/streams"
)

// maxJobs is how many recent jobs stay valid for shares (same block).
const maxJobs = 16

// jobEntry is a job plus what the gateway tracks about it.
type jobEntry struct {
	job     *coin.Job
	raw     json.RawMessage // as published, for BlockFound
	netDiff float64
	// notifyClean and notifyKeep are the encoded mining.notify lines with
	// clean_jobs true and false, made once and sent to every miner.
	notifyClean, notifyKeep []byte
	mu                      sync.Mutex
	stale                   bool
	seen                    map[shareKey]struct{}
}

// shareKey identifies a submission within a job: 128 bits of keyed hash of
// extranonce1 ‖ extranonce2 ‖ ntime ‖ nonce ‖ version. A job's seen set
// lives until the next block, so at 20,000 shares/s and 10-minute blocks it
// holds millions of entries: 16 bytes each instead of the 44-byte tuple. Two
// different submissions collide with probability 2^-128 per pair (seeds
// are random per process), far below any share ever being misjudged.
type shareKey [2]uint64

var shareKeySeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func makeShareKey(en1, en2 []byte, ntime, nonce, version uint32) shareKey {
	var b [44]byte // extranonces are at most 16 bytes each
	copy(b[:16], en1)
	copy(b[16:32], en2)
	binary.LittleEndian.PutUint32(b[32:], ntime)
	binary.LittleEndian.PutUint32(b[36:], nonce)
	binary.LittleEndian.PutUint32(b[40:], version)
	return shareKey{maphash.Bytes(shareKeySeeds[0], b[:]), maphash.Bytes(shareKeySeeds[1], b[:])}
}

// firstSeen records k and reports whether it is new for this job; stale
// reports that the job went stale (its seen set is gone) since the caller
// looked it up, in which case nothing is recorded.
func (e *jobEntry) firstSeen(k shareKey) (fresh, stale bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stale {
		return false, true
	}
	if _, dup := e.seen[k]; dup {
		return false, false
	}
	e.seen[k] = struct{}{}
	return true, false
}

func (e *jobEntry) isStale() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stale
}

// jobStore keeps the recent jobs of one coin. Jobs for an older height than
// the current one are ignored (two jobmakers, or a late message, cannot move
// miners backwards); a job on a new previous block makes all others stale.
type jobStore struct {
	mu      sync.RWMutex
	byID    map[string]*jobEntry
	order   []string
	current *jobEntry
}

func newJobStore() *jobStore { return &jobStore{byID: map[string]*jobEntry{}} }

// add reports whether the job was taken and whether miners must drop old work.
func (s *jobStore) add(j *coin.Job, raw json.RawMessage, diff1 target.Target) (e *jobEntry, clean, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.byID[j.ID]; dup {
		return nil, false, false
	}
	cur := s.current
	if cur != nil && j.Height < cur.job.Height {
		return nil, false, false
	}
	clean = cur == nil || j.PrevHash != cur.job.PrevHash
	e = &jobEntry{job: j, raw: raw, netDiff: target.Difficulty(diff1, j.NetworkTarget), seen: map[shareKey]struct{}{}}
	n := stratum.Notify{JobID: j.ID, PrevHash: j.PrevHash, Coinb1: j.Coinb1, Coinb2: j.Coinb2,
		Version: j.Version, NBits: j.NBits, NTime: j.NTime}
	for _, h := range j.MerkleBranch {
		n.MerkleBranch = append(n.MerkleBranch, h)
	}
	n.CleanJobs = true
	e.notifyClean = stratum.AppendNotify(nil, &n)
	n.CleanJobs = false
	e.notifyKeep = stratum.AppendNotify(nil, &n)
	if clean {
		// Old jobs stay known (until pushed out below) but stale, so a late
		// share on them is answered and recorded as stale, not as unknown.
		for _, id := range s.order {
			old := s.byID[id]
			old.mu.Lock()
			old.stale = true
			old.seen = nil
			old.mu.Unlock()
		}
	}
	s.byID[j.ID] = e
	s.order = append(s.order, j.ID)
	for len(s.order) > maxJobs {
		old := s.byID[s.order[0]]
		old.mu.Lock()
		old.stale, old.seen = true, nil
		old.mu.Unlock()
		delete(s.byID, s.order[0])
		s.order = s.order[1:]
	}
	s.current = e
	return e, clean, true
}

func (s *jobStore) get(id string) *jobEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.byID[id]
}

func (s *jobStore) currentJob() *jobEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.current
}

// followJobs reads jobs.<coin> from the last one on and keeps following.
func (g *Gateway) followJobs(ctx context.Context) error {
	cons, err := g.env.JS.OrderedConsumer(ctx, streams.Jobs, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{streams.JobsSubject(g.opts.Symbol)},
		DeliverPolicy:  jetstream.DeliverLastPerSubjectPolicy,
	})
	if err != nil {
		return fmt.Errorf("gateway: follow jobs: %w", err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) { g.onJob(msg.Data()) })
	if err != nil {
		return fmt.Errorf("gateway: follow jobs: %w", err)
	}
	context.AfterFunc(ctx, cc.Stop)
	return nil
}

func (g *Gateway) onJob(data []byte) {
	var j coin.Job
	if err := json.Unmarshal(data, &j); err != nil {
		g.log.Error("undecodable job ignored", "err", err)
		return
	}
	if err := j.Validate(); err != nil {
		g.log.Error("invalid job ignored", "job", j.ID, "err", err)
		return
	}
	if j.Coin != g.opts.Symbol {
		g.log.Error("job for another coin ignored", "job", j.ID, "job_coin", j.Coin)
		return
	}
	raw := append(json.RawMessage(nil), data...)
	e, clean, ok := g.jobs.add(&j, raw, g.coin.Diff1())
	if !ok {
		g.log.Debug("old or duplicate job ignored", "job", j.ID, "height", j.Height)
		return
	}
	g.log.Debug("new job", "job", j.ID, "height", j.Height, "clean", clean)
	g.forEachSession(func(s *session) { s.sendJob(e, clean) })
}
