// Package archtest holds tests about the shape of the code base itself:
// every package documents what it owns, and the dependency rules of the
// architecture hold (the runtime does not know its functions, shared code
// does not reach into roles, the web never imports coin code). It has no
// non-test code.
package archtest
