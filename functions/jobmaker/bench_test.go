package jobmaker_test

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jetpool/jetpool/functions"
	"github.com/jetpool/jetpool/functions/jobmaker"
	"github.com/jetpool/jetpool/internal/natstest"
	"github.com/jetpool/jetpool/internal/testenv"
)

// BenchmarkNewBlockToJob measures how long after a block is connected on a
// real btcd regtest node (its generate call returned) the clean job for
// the next height is on jobs.btc: signal, getblocktemplate, coinbase and
// merkle branch, template stored in the object store, job published and
// received. "websocket" is the normal path (notifyblocks), "poll" the
// fallback when the node has no websocket (getbestblockhash every 500 ms).
// Each block comes after a random pause of up to 600 ms, so it falls at any
// phase of the poll. Reported: p50 and max over the iterations, in
// milliseconds (ns/op includes the pauses and is not the figure).
func BenchmarkNewBlockToJob(b *testing.B) {
	for _, tc := range []struct {
		name      string
		websocket bool
	}{{"websocket", true}, {"poll", false}} {
		b.Run(tc.name, func(b *testing.B) {
			btcd := testenv.Btcd(b, "regtest")
			e := env(b, testenv.NATS(b), "jm-bench")
			ws := ""
			if tc.websocket {
				ws = btcd.WSURL()
			}
			seedCoinNode(b, e, btcd, ws)
			w := watchJobs(b, e.JS)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- functions.RunAll(ctx, e, jobmaker.New()) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					b.Error(err)
				}
			}()
			natstest.WaitFor(b, 20*time.Second, "first job", func() bool { return len(w.snapshot()) >= 1 })
			var took []time.Duration
			for b.Loop() {
				time.Sleep(rand.N(600 * time.Millisecond))
				h, err := btcd.Client().GetBlockCount(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := btcd.Client().Generate(ctx, 1); err != nil {
					b.Fatal(err)
				}
				connected := time.Now()
				var at time.Time
				natstest.WaitFor(b, 10*time.Second, "job for the new block", func() bool {
					at = w.arrival(h+2, true)
					return !at.IsZero()
				})
				took = append(took, at.Sub(connected))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
		})
	}
}
