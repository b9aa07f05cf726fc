// Package web is the pool's HTTP face, built on Echo: the REST API (and,
// as the pool grows, the WebSocket feed and the embedded dashboard). It talks
// to the rest of the pool only through NATS — KV reads and request/reply to
// functions — never to databases or coin nodes directly, and must not import
// btcd (enforced by internal/archtest).
//
// It runs as a unit (functions.Function) so `jetpool dev` serves it in-process
// and `jetpool web` runs it alone.
package web
