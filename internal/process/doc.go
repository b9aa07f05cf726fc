// Package process is the common bootstrap of every jetpool process, whatever
// its role: connect to NATS (in-process or a URL), ensure streams and
// buckets, build the functions.Env, serve the ops endpoint with readiness
// checks for NATS and JetStream, run the chosen units until the context ends,
// then shut down in order (units drain, NATS connection drains, ops stops).
//
// `jetpool dev` and the role commands (`fn`, `gateway`, `web`) both use it, so
// a unit never knows which of the two it runs in.
package process
