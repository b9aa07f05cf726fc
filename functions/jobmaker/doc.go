// Package jobmaker is the function that turns a coin node's block templates
// into Stratum jobs. For every enabled coin in KV `coins` it asks the node
// for a template when a new block arrives (btcd's websocket notifyblocks,
// with a getbestblockhash poll every 500 ms as fallback and safety net) and on
// the coin's job_refresh interval; stores the full template in the object
// store `templates` under <coin>/<template id>; and publishes the compact job
// on jobs.<coin>.
//
// Any number of copies may run: per coin, one copy holds a lease in KV
// `services` (key jobmaker.<coin>.leader, renewed every few seconds) and is
// the only one publishing; the others wait and take over when the lease
// lapses. Gateways additionally ignore jobs older than the one they have.
package jobmaker
