// Package jsonenc holds the allocation-free JSON appenders shared by the
// hot encoders (Stratum messages, share batches): they never call fmt or
// reflect and produce exactly what encoding/json would. It imports nothing
// of the project.
package jsonenc
