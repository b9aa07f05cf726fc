package ltc

import (
	"fmt"
	"testing"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/target"
)

// BenchmarkShareValidation is the gateway's per-share path for Litecoin on
// litecoind's MWEB activation template: ntime check, coinbase assembly,
// merkle root, header, scrypt, share and network target comparison. The
// scrypt hash (128 KiB scratchpad) is nearly all of it.
func BenchmarkShareValidation(b *testing.B) {
	c, err := New("regtest")
	if err != nil {
		b.Fatal(err)
	}
	tpl, err := c.ParseTemplate(readFile(b, "regtest-gbt-432-mweb.json"))
	if err != nil {
		b.Fatal(err)
	}
	payout, err := c.ValidateAddress("rltc1qzj6wfkt63fpaq89c9x63mtum2p9h799wz966hh")
	if err != nil {
		b.Fatal(err)
	}
	job, err := c.NewJob(tpl, coin.JobOptions{JobID: fmt.Sprint(1), PayoutScript: payout, PoolTag: "/jetpool/"})
	if err != nil {
		b.Fatal(err)
	}
	shareTarget, err := target.FromDifficulty(c.Diff1(), 65536)
	if err != nil {
		b.Fatal(err)
	}
	hasher := c.Hasher()
	sub := coin.Submission{Extranonce1: []byte{1, 2, 3, 4}, Extranonce2: make([]byte, job.Extranonce2Size), Version: job.Version}
	res := new(coin.ShareResult)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sub.NTime = job.NTime
		sub.Nonce = uint32(i)
		if err := job.CheckNTime(sub.NTime); err != nil {
			b.Fatal(err)
		}
		if err := job.Check(hasher, &sub, &shareTarget, res); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "shares/s")
}
