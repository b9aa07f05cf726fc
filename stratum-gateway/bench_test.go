package gateway_test

import (
	"testing"

	"github.com/jetpool/jetpool/internal/stratum"
	gateway "github.com/jetpool/jetpool/stratum-gateway"
)

// BenchmarkShareRoundTrip is one miner pipelining valid shares over
// loopback TCP: check, batch, JetStream acknowledgement (file storage) and
// the true back. Shares are mined before the timer starts.
func BenchmarkShareRoundTrip(b *testing.B) {
	p := newPool(b)
	g := p.startGateway(func(o *gateway.Options) {
		o.Stratum.MaxMessagesPerSecond, o.Stratum.MessageBurst = 1e9, 1<<30
	})
	p.publishJob(jobSpec{id: "j1", txs: 10})
	c := dial(b, g.tcp())
	c.handshake(regtestAddr(b, 30) + ".bench")
	c.note(stratum.MethodSetDifficulty)
	shares := make([][]any, b.N)
	for i := range shares {
		shares[i] = c.valid().params(c.user)
	}
	const window = 256 // shares in flight, as a proxy with many workers would have
	b.ResetTimer()
	answered := 0
	await := func() { // any response: batches are acknowledged out of order
		for {
			l, ok := c.next()
			if !ok {
				b.Fatalf("connection closed: %v", c.rerr)
			}
			if l.msg.IsResponse() {
				wantTrue(b, l.msg)
				answered++
				return
			}
		}
	}
	for i := range b.N {
		c.request(stratum.MethodSubmit, shares[i]...)
		if i+1-answered >= window {
			await()
		}
	}
	for answered < b.N {
		await()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "shares/s")
}
