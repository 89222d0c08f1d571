// Package conformance checks the flytest emulator against Fly's own Go
// client: the flaps package of github.com/superfly/fly-go, which flyctl
// uses against the real Machines API every day.
//
// The tests start the emulator in-process on loopback, point flaps at it
// (FLY_FLAPS_BASE_URL) and call every flaps method that makes an API call,
// in the sequences flyctl uses: create an app and wait for it, launch a
// Machine with a lease, update it with the nonce, wait for each state,
// stop, start, suspend, kill, destroy, and the app's volumes, secrets,
// secret keys, certificates and IP addresses. Each call is checked against
// what the real API does, as flaps and flyctl read it. A bug of flaps
// itself is named in the test that meets it, never imitated by the
// emulator.
//
// It is a module of its own so that no user of flymachines-go ever
// depends on fly-go.
package conformance
