// Package natsrv runs an embedded nats-server with JetStream on disk.
//
// It owns exactly one thing: turning a small Options value (or a nats.conf
// file) into a running, ready server, single node or one member of a cluster,
// listening on loopback unless told otherwise. `jetpool dev` and the test
// environment use it; production roles connect to an external NATS cluster
// and never import it.
package natsrv
