// Package archtest holds tests about the shape of the code base itself:
// every package documents what it owns, and the dependency rules of the
// architecture hold (the runtime does not know its functions, shared code
// does not reach into roles, the web never imports coin code, no
// production package links a test helper such as testenv or promtest).
//
// It also gives packages what they need to keep the import promise of
// their own doc.go in a test of their own: AssertImports with the
// predicates Standard and HasPrefix. It imports only the standard library,
// so any package's tests may use it.
package archtest
