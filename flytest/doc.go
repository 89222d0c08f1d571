// Package flytest is an in-process emulator of the Fly.io Machines API, for
// tests that must never reach api.machines.dev.
//
// It serves every operation of the pinned spec over real HTTP, keeps state
// (apps, Machines and their lifecycle, leases, volumes, secrets, ...), builds
// its bodies from the generated models so it cannot drift from the spec, and
// can inject faults (latency, 429, 5xx, ambiguous 408, dropped connections,
// capacity errors) per operation, deterministically.
//
//	srv := flytest.NewServer(t)
//	c, _ := flymachines.New(flymachines.WithBaseURL(srv.URL()), flymachines.WithToken("test-token"))
//
// Beyond the spec, it is checked against Fly's own Go client: the
// conformance module (conformance/ in this repository) drives it with
// fly-go's flaps package, every call that reaches the API, and checks each
// answer against what flaps and flyctl expect of the real API. Answers
// carry the fields the real API always sends, zero or null included
// (wire.go).
//
// The same emulator runs standalone with `flymachines emulator`.
package flytest
