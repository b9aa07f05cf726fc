// Package stratum is the Stratum v1 wire codec shared by jetpool's
// stratum-gateway (server side) and its CPU miner (client side).
//
// It owns:
//
//   - LineReader, a bounded newline-delimited reader that never buffers more
//     than the configured maximum line length (ErrLineTooLong otherwise) and
//     reuses one buffer for every line;
//   - the typed messages (Request, Response, Notification, Message) and their
//     decoders, which classify bad input as a parse error (-32700) or an
//     invalid request (-32600);
//   - strict parsers for the params of every client method (mining.subscribe,
//     mining.authorize, mining.submit, mining.configure (BIP310),
//     mining.suggest_difficulty, mining.extranonce.subscribe,
//     mining.get_transactions) and of every server notification/result the
//     miner consumes (mining.notify, mining.set_difficulty,
//     mining.set_extranonce, mining.set_version_mask, client.reconnect, the
//     subscribe and configure results);
//   - allocation-light Append* encoders for every message either side sends;
//   - the one table of error codes: Stratum 20–25 and JSON-RPC -32700…-32602,
//     marshalled as the conventional [code, "message", null] array.
//
// Byte orders on the wire (what the encoders write and the parsers expect):
// version, nbits, ntime, nonce and version bits are 8 hex characters of the
// big-endian uint32 (the header stores them little-endian); prevhash is the
// 32-byte header-order hash with each 4-byte word byte-swapped; merkle branch
// hashes are sent in header (internal) byte order unchanged; coinb1, coinb2
// and the extranonces are raw hex.
//
// The package is a codec only: no networking policy (timeouts, bans, vardiff,
// share validation against jobs) lives here. It must import nothing but the
// standard library and internal/jsonenc (itself standard library only); in
// particular not NATS, the coin packages, pgx or clickhouse.
package stratum
