// Package sandboxtest helps test programs built on package sandbox: it
// makes sure they reach no real API, and it stands an emulator in for Fly
// so that their token path can be tested too.
//
//	func TestMyFlow(t *testing.T) {
//		_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast())
//		err := run(ctx, sandboxtest.Fast()) // the program under test calls sandbox.Connect
//		// ... look with c at what it left behind
//	}
package sandboxtest

import (
	"slices"
	"testing"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/sandbox"
)

// standInToken is the token the stand-in accepts.
const standInToken = "fo1_sandboxtest-stand-in"

// NoToken clears FLY_API_TOKEN, FLY_ACCESS_TOKEN and FLY_API_HOSTNAME for
// the test, so sandbox.Connect starts its emulator whatever the shell that
// runs the tests has set, and nothing reaches Fly. Like t.Setenv, it cannot
// be used in parallel tests.
func NoToken(t testing.TB) {
	t.Helper()
	t.Setenv(flymachines.EnvAPIToken, "")
	t.Setenv(flymachines.EnvAccessToken, "")
	t.Setenv(flymachines.EnvAPIHostname, "")
}

// Fast is a sandbox.Config for tests: its emulator moves quickly (5ms
// transitions, 60ms jobs), and its client does not pace itself, since
// neither the emulator Connect starts nor FlyStandIn's enforces rate
// limits (Fly's would make a flow's test take seconds).
func Fast() sandbox.Config {
	return sandbox.Config{
		TransitionDelay: 5 * time.Millisecond,
		JobRuntime:      60 * time.Millisecond,
		ClientOptions:   []flymachines.Option{flymachines.WithoutRateLimits()},
	}
}

// FlyStandIn serves an emulator primed as sandbox primes its own (with
// cfg's timings) and points FLY_API_TOKEN and FLY_API_HOSTNAME at it: for
// the rest of the test, sandbox.Connect takes its token path, as with
// Fly, without leaving this host. It returns the server and a client of
// its own for looking at what the program under test left behind. Like
// t.Setenv, it cannot be used in parallel tests.
//
// extra options go first, so that their behaviours (say, an image that
// fails to start) win over sandbox's; settings that sandbox's options make
// too, such as the transition delay, are sandbox's.
func FlyStandIn(t testing.TB, cfg sandbox.Config, extra ...flytest.Option) (*flytest.Server, *flymachines.Client) {
	t.Helper()
	NoToken(t)
	srv := flytest.NewServer(t, append(slices.Clip(extra), sandbox.EmulatorOptions(cfg)...)...)
	t.Setenv(flymachines.EnvAPIToken, standInToken)
	t.Setenv(flymachines.EnvAPIHostname, srv.URL())
	c, err := flymachines.New(flymachines.WithToken(standInToken), flymachines.WithBaseURL(srv.URL()),
		flymachines.WithoutRateLimits())
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}
