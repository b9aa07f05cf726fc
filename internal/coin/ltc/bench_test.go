package ltc

import (
	"fmt"
	"testing"

	"github.com/jetpool/jetpool/internal/coin"
	"github.com/jetpool/jetpool/internal/coin/cointest"
)

// BenchmarkShareValidation is the gateway's per-share path for Litecoin on
// litecoind's MWEB activation template: ntime check, coinbase assembly,
// merkle root, header, scrypt, share and network target comparison. The
// scrypt hash (128 KiB scratchpad) is nearly all of it.
func BenchmarkShareValidation(b *testing.B) {
	c := cointest.New(b, New, "regtest")
	tpl := cointest.Template(b, c, "regtest-gbt-432-mweb.json")
	payout, err := c.ValidateAddress("rltc1qzj6wfkt63fpaq89c9x63mtum2p9h799wz966hh")
	if err != nil {
		b.Fatal(err)
	}
	job, err := c.NewJob(tpl, coin.JobOptions{JobID: fmt.Sprint(1), PayoutScript: payout, PoolTag: "/jetpool/"})
	if err != nil {
		b.Fatal(err)
	}
	sub := coin.Submission{Extranonce1: []byte{1, 2, 3, 4}, Extranonce2: make([]byte, job.Extranonce2Size), Version: job.Version}
	cointest.BenchShares(b, c, func() *coin.Job { return job }, sub)
}
