package stats

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/jetpool/jetpool/internal/chstore"
)

// WindowBucket is the JetStream object store that carries stats.window
// answers too large for one NATS message (100,000 miners are about 5 MB;
// max_payload is 1 MiB). Objects are named "<coin>/<sha256 of the bytes>",
// so two answers with the same miners are one object and a reader can
// check it got exactly what the reply pointed at. Objects expire after
// WindowObjectTTL.
const WindowBucket = "windows"

// WindowObject points at the miners of a stats.window answer stored in
// WindowBucket, encoded by EncodeWindowMiners.
type WindowObject struct {
	Bucket string `json:"bucket"`
	Name   string `json:"name"`
	SHA256 string `json:"sha256"` // hex, of the object's bytes
	Size   int    `json:"size"`
	Miners int    `json:"miners"`
}

// windowMagic starts every encoded miner list (format version 1).
var windowMagic = []byte("JPW1")

// Limits of DecodeWindowMiners: far above any real address or amount,
// small enough that a corrupt length cannot make it allocate much.
const (
	maxAddressBytes = 1024
	maxUnitsBytes   = 4096
	minMinerBytes   = 1 + 8 + 1 // empty address, work, empty units
)

// ErrBadWindowObject is returned for bytes that are not an encoded miner list.
var ErrBadWindowObject = errors.New("stats: bad window object")

// EncodeWindowMiners encodes miners compactly:
//
//	"JPW1"
//	uvarint  number of miners
//	per miner:
//	  uvarint  length of the address, then the address (UTF-8)
//	  8 bytes  work, float64 bits, little endian
//	  uvarint  length of the units, then the units (big-endian magnitude;
//	           empty for zero)
func EncodeWindowMiners(miners []MinerWork) []byte {
	size := len(windowMagic) + binary.MaxVarintLen64
	for _, m := range miners {
		size += 2*binary.MaxVarintLen64 + len(m.Address) + 8 + 24
	}
	out := make([]byte, 0, size)
	out = append(out, windowMagic...)
	out = binary.AppendUvarint(out, uint64(len(miners)))
	for _, m := range miners {
		out = binary.AppendUvarint(out, uint64(len(m.Address)))
		out = append(out, m.Address...)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(m.Work))
		var units []byte
		if m.Units != nil {
			units = m.Units.Bytes()
		}
		out = binary.AppendUvarint(out, uint64(len(units)))
		out = append(out, units...)
	}
	return out
}

// DecodeWindowMiners decodes EncodeWindowMiners' bytes. It never panics and
// rejects trailing bytes, lengths beyond the input and non-finite or
// negative work.
func DecodeWindowMiners(data []byte) ([]MinerWork, error) {
	if len(data) < len(windowMagic) || string(data[:len(windowMagic)]) != string(windowMagic) {
		return nil, fmt.Errorf("%w: no JPW1 header", ErrBadWindowObject)
	}
	p := data[len(windowMagic):]
	n, k := binary.Uvarint(p)
	if k <= 0 || n > uint64(len(p)/minMinerBytes) {
		return nil, fmt.Errorf("%w: bad miner count", ErrBadWindowObject)
	}
	p = p[k:]
	out := make([]MinerWork, n)
	for i := range out {
		l, k := binary.Uvarint(p)
		if k <= 0 || l > maxAddressBytes || l > uint64(len(p)-k) {
			return nil, fmt.Errorf("%w: miner %d: bad address length", ErrBadWindowObject, i)
		}
		p = p[k:]
		out[i].Address = string(p[:l])
		p = p[l:]
		if len(p) < 8 {
			return nil, fmt.Errorf("%w: miner %d: short work", ErrBadWindowObject, i)
		}
		w := math.Float64frombits(binary.LittleEndian.Uint64(p))
		if math.IsNaN(w) || math.IsInf(w, 0) || w < 0 {
			return nil, fmt.Errorf("%w: miner %d: work %v", ErrBadWindowObject, i, w)
		}
		out[i].Work = w
		p = p[8:]
		l, k = binary.Uvarint(p)
		if k <= 0 || l > maxUnitsBytes || l > uint64(len(p)-k) {
			return nil, fmt.Errorf("%w: miner %d: bad units length", ErrBadWindowObject, i)
		}
		p = p[k:]
		out[i].Units = chstore.UnitsFromBytes(p[:l])
		p = p[l:]
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrBadWindowObject, len(p))
	}
	return out, nil
}
