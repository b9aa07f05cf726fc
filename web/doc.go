// Package web is the pool's HTTP face, built on Echo: the REST API (and,
// as the pool grows, the WebSocket feed and the embedded dashboard). It talks
// to the rest of the pool only through NATS — KV reads and request/reply to
// functions — never to databases or coin nodes directly, and must not import
// btcd or any coin package (enforced by internal/archtest).
//
// What it serves per coin follows the `coins` KV registry live (coins.go):
// a coin put there is served at once, a disabled or deleted one answers 404.
//
//	GET /api/coins                              every registered coin (no credentials)
//	GET /api/services                           live gateways and function copies
//	GET /api/coins/:coin                        one enabled coin
//	GET /api/coins/:coin/pool                   pool figures        (stats.pool)
//	GET /api/coins/:coin/blocks?limit=N         latest blocks       (ledger.blocks)
//	GET /api/coins/:coin/hashrate?range=24h|30d pool chart          (stats.series)
//	GET /api/coins/:coin/miners/:address        miner hashrate, ?worker=NAME for one worker (stats.hashrate)
//	GET /api/coins/:coin/miners/:address/workers the miner's workers (stats.workers)
//
// Errors are JSON {"error": "..."}: 400 for a malformed parameter (checked
// here) or one a function refuses, 404 for an unknown coin, 503 when no copy
// of the function runs, 502 when it fails (logged; internals never leak).
// Every answer is counted in jetpool_web_responses_total{route,code}; every
// refused request (4xx) is logged with its path, status and reason.
//
// It runs as a unit (functions.Function) so `jetpool dev` serves it in-process
// and `jetpool web` runs it alone.
package web
