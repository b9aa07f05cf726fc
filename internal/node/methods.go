package node

import (
	"context"
	"encoding/json"
)

// GetBlockTemplate asks for a block template (BIP 22/23) with the given rules
// ("segwit"; litecoind also needs "mweb"). The raw reply is returned: its shape
// differs per coin and is parsed by the coin package.
func (c *Client) GetBlockTemplate(ctx context.Context, rules []string) (json.RawMessage, error) {
	if rules == nil {
		rules = []string{}
	}
	var raw json.RawMessage
	err := c.Call(ctx, "getblocktemplate", []any{map[string]any{"rules": rules}}, &raw)
	return raw, err
}

// SubmitBlock submits a serialised block (hex). It returns "" when the node
// accepted the block, else the node's reject reason ("duplicate",
// "inconclusive", "high-hash", btcd's "rejected: …"). A block the node could
// not even decode comes back as an *RPCError (CodeDeserialization).
func (c *Client) SubmitBlock(ctx context.Context, hexBlock string) (string, error) {
	var reason *string
	if err := c.Call(ctx, "submitblock", []any{hexBlock}, &reason); err != nil {
		return "", err
	}
	if reason == nil {
		return "", nil
	}
	return *reason, nil
}

// GetBlockCount returns the height of the best chain.
func (c *Client) GetBlockCount(ctx context.Context) (int64, error) {
	var n int64
	err := c.Call(ctx, "getblockcount", nil, &n)
	return n, err
}

// GetBestBlockHash returns the hash of the tip of the best chain (hex, RPC byte order).
func (c *Client) GetBestBlockHash(ctx context.Context) (string, error) {
	var h string
	err := c.Call(ctx, "getbestblockhash", nil, &h)
	return h, err
}

// GetBlockHash returns the hash of the best-chain block at height.
func (c *Client) GetBlockHash(ctx context.Context, height int64) (string, error) {
	var h string
	err := c.Call(ctx, "getblockhash", []any{height}, &h)
	return h, err
}

// GetBlock returns a block: verbosity 0 gives a JSON string of the serialised
// block in hex, 1 an object with txids, 2 an object with decoded transactions.
func (c *Client) GetBlock(ctx context.Context, hash string, verbosity int) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.Call(ctx, "getblock", []any{hash, verbosity}, &raw)
	return raw, err
}

// BlockHeader is the verbose form of getblockheader.
type BlockHeader struct {
	Hash              string  `json:"hash"`
	Confirmations     int64   `json:"confirmations"` // -1 when the block is not in the best chain
	Height            int64   `json:"height"`
	Version           int32   `json:"version"`
	MerkleRoot        string  `json:"merkleroot"`
	Time              int64   `json:"time"`
	Nonce             uint32  `json:"nonce"`
	Bits              string  `json:"bits"`
	Difficulty        float64 `json:"difficulty"`
	PreviousBlockHash string  `json:"previousblockhash"`
	NextBlockHash     string  `json:"nextblockhash"`
}

// GetBlockHeader returns the verbose header of the block with hash.
func (c *Client) GetBlockHeader(ctx context.Context, hash string) (*BlockHeader, error) {
	var h BlockHeader
	if err := c.Call(ctx, "getblockheader", []any{hash, true}, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// Generate mines n blocks to the node's configured mining address (btcd and
// bchd with --miningaddr) and returns their hashes.
func (c *Client) Generate(ctx context.Context, n int) ([]string, error) {
	var hashes []string
	err := c.Call(ctx, "generate", []any{n}, &hashes)
	return hashes, err
}

// GenerateToAddress mines n blocks paying address (bitcoind, litecoind regtest).
func (c *Client) GenerateToAddress(ctx context.Context, n int, address string) ([]string, error) {
	var hashes []string
	err := c.Call(ctx, "generatetoaddress", []any{n, address}, &hashes)
	return hashes, err
}

// GetRawMempool returns the txids in the node's mempool.
func (c *Client) GetRawMempool(ctx context.Context) ([]string, error) {
	var ids []string
	err := c.Call(ctx, "getrawmempool", nil, &ids)
	return ids, err
}

// NetworkInfo is the part of getnetworkinfo the pool reads.
type NetworkInfo struct {
	Version         int64  `json:"version"`
	Subversion      string `json:"subversion"`
	ProtocolVersion int64  `json:"protocolversion"`
	Connections     int64  `json:"connections"`
}

// GetNetworkInfo returns version and peer count (bitcoind, litecoind; btcd
// answers CodeMisc "Command unimplemented").
func (c *Client) GetNetworkInfo(ctx context.Context) (*NetworkInfo, error) {
	var ni NetworkInfo
	if err := c.Call(ctx, "getnetworkinfo", nil, &ni); err != nil {
		return nil, err
	}
	return &ni, nil
}

// MiningInfo is the part of getmininginfo the pool reads.
type MiningInfo struct {
	Blocks        int64   `json:"blocks"`
	Difficulty    float64 `json:"difficulty"`
	NetworkHashPS float64 `json:"networkhashps"`
	PooledTx      int64   `json:"pooledtx"`
	Chain         string  `json:"chain"` // empty on btcd
}

// GetMiningInfo returns the network difficulty and hash rate.
func (c *Client) GetMiningInfo(ctx context.Context) (*MiningInfo, error) {
	var mi MiningInfo
	if err := c.Call(ctx, "getmininginfo", nil, &mi); err != nil {
		return nil, err
	}
	return &mi, nil
}

// BlockchainInfo is the part of getblockchaininfo the pool reads.
type BlockchainInfo struct {
	Chain                string  `json:"chain"`
	Blocks               int64   `json:"blocks"`
	Headers              int64   `json:"headers"`
	BestBlockHash        string  `json:"bestblockhash"`
	Difficulty           float64 `json:"difficulty"`
	MedianTime           int64   `json:"mediantime"`
	InitialBlockDownload bool    `json:"initialblockdownload"`
}

// GetBlockchainInfo returns the chain name, height and sync state.
func (c *Client) GetBlockchainInfo(ctx context.Context) (*BlockchainInfo, error) {
	var bi BlockchainInfo
	if err := c.Call(ctx, "getblockchaininfo", nil, &bi); err != nil {
		return nil, err
	}
	return &bi, nil
}
