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
// It costs what it answers at any size: apps index their Machines by
// creation order and by name (machine_index.go), so a page of a list or a
// named create costs the same at 50,000 Machines as at 5, and a list holds
// the emulator's lock only while its answer is built, not while it is
// encoded. The servers it starts cut off a client that is slow to send its
// request (server.go).
//
// The same emulator runs standalone with `flymachines emulator`.
package flytest
