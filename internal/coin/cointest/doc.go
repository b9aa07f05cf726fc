// Package cointest is the conformance suite every bitcoin-family coin runs,
// in the manner of testing/fstest.TestFS: a coin package calls
//
//	cointest.Run(t, c, vectors)
//
// from its own tests with vectors of its chain (addresses, real headers and
// blocks, getblocktemplate replies), and the suite checks the coin against
// btcd's wire decoding and consensus checks (BIP34 height, merkle root,
// BIP141 witness commitment, transaction sanity).
//
// It also holds the helpers the coin packages' tests share rather than
// each writing them again: Hex, Testdata and TestdataHex for vectors,
// New and Template for the coin and template under test, RawBlockVector,
// GoodAddress and BadAddress for suite vectors, EditJSON for altered
// getblocktemplate replies, FuzzAddress and FuzzTemplate for the common
// checks of their fuzz targets, and BenchShares for the per-share
// benchmark.
//
// Package cointest is imported by tests only. It may import btcd's
// blockchain, btcutil/v2 and wire/v2 packages; nothing in the pool may
// import it.
package cointest
