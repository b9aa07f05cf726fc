// Package functions is the runtime every stateless pool function runs on:
// the Function contract, the Env it receives, a registry by name, RunAll
// (if any function fails the whole process stops), and two helpers —
// Consume for durable pull consumers shared by all copies of a function
// (ack / nak with delay / term on permanent errors, drain on shutdown) and
// Service for nats.go micro request/reply endpoints. Every function announces
// itself with micro so `$SRV.PING` lists every running instance; that is
// service discovery for functions.
//
// The concrete functions live in sub-packages (functions/jobmaker, …); the
// start the ledger functions share (open the ledger, announce) is
// functions/internal/ledgerfn. This package must not import any of them,
// nor databases or coin code.
package functions
