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
// The same emulator runs standalone with `flymachines emulator`.
package flytest
