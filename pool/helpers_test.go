package pool

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/internal/inmem"
	"github.com/flymachines/flymachines-go/models"
)

const (
	testApp   = "jobs"
	testToken = "fo1_pool-test-token"
	// memBaseURL is where clients of an in-memory emulator send requests:
	// a private-network name (plain HTTP allowed) that never resolves.
	memBaseURL = "http://flytest.internal"
	// testJobTime is how long a "job" command runs on the emulator.
	testJobTime = 300 * time.Millisecond
)

// Commands the test emulators know, by their first word:
//
//	job ...    runs testJobTime (or jobTime), exits 0
//	fail ...   runs as long, exits 3
//	hang ...   runs until stopped
//
// A Machine without a command runs until stopped; image "broken" fails
// to start.
func jobBehaviors(jobTime time.Duration) []flytest.Option {
	first := func(word string) func(*models.FlyMachineConfig) bool {
		return func(c *models.FlyMachineConfig) bool {
			return c.Init != nil && len(c.Init.Cmd) > 0 && c.Init.Cmd[0] == word
		}
	}
	return []flytest.Option{
		flytest.WithImageBehavior("broken", flytest.FailToStart("no such image")),
		flytest.WithBehavior(first("job"), flytest.ExitAfter(jobTime, 0)),
		flytest.WithBehavior(first("fail"), flytest.ExitAfter(jobTime, 3)),
	}
}

// memEnv is an emulator served in memory, for tests inside a synctest
// bubble, where its transitions, waits and leases follow the fake clock.
type memEnv struct {
	emu      *flytest.Emulator
	c        *flymachines.Client
	requests *counter
}

// counter counts requests by operation path kind.
type counter struct{ n atomic.Int64 }

func (c *counter) RoundTrip(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		c.n.Add(1)
		return next.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// newMemEnv starts an in-memory emulator with app testApp; call it inside
// the bubble.
func newMemEnv(t *testing.T, opts ...flytest.Option) *memEnv {
	t.Helper()
	all := append([]flytest.Option{flytest.WithTransitionDelay(20 * time.Millisecond)}, jobBehaviors(testJobTime)...)
	emu := flytest.New(append(all, opts...)...)
	t.Cleanup(emu.Close)
	env := &memEnv{emu: emu, requests: &counter{}}
	env.c = env.client(t)
	if _, err := env.c.CreateApp(context.Background(), &models.CreateAppRequest{Name: testApp, OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}
	return env
}

// client is another client of the emulator (another process, as far as
// the pool can tell), with its requests counted.
func (e *memEnv) client(t *testing.T, opts ...flymachines.Option) *flymachines.Client {
	t.Helper()
	hc := &http.Client{Transport: e.requests.RoundTrip(inmem.Transport(e.emu))}
	all := []flymachines.Option{flymachines.WithToken(testToken), flymachines.WithBaseURL(memBaseURL),
		flymachines.WithHTTPClient(hc), flymachines.WithoutRateLimits()}
	c, err := flymachines.New(append(all, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testConfig is a pool of up to max Machines in testApp.
func testConfig(max int) Config {
	return Config{
		App: testApp, Name: "workers", Max: max,
		Config: &models.FlyMachineConfig{Image: "worker:1", Guest: &models.FlyMachineGuest{CPUKind: "shared", Cpus: 1, MemoryMb: 256}},
	}
}

func newPool(t testing.TB, c *flymachines.Client, cfg Config) *Pool {
	t.Helper()
	p, err := New(c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// jobNamed is a job the emulators run for testJobTime.
func jobNamed(id int) Job {
	return Job{Cmd: []string{"job", strconv.Itoa(id)}, Env: map[string]string{"JOB_ID": strconv.Itoa(id)}}
}

// members lists the pool's Machines that are not destroyed.
func members(t *testing.T, c *flymachines.Client, name string) []*models.Machine {
	t.Helper()
	ms, err := c.Machines.List(context.Background(), testApp, &machines.ListParams{Metadata: map[string]string{KeyPool: name}, IncludeLeases: true})
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(ms, func(m *models.Machine) bool { return gone(m) })
}

// runsOf are the emulator's runs of the job with JOB_ID id.
func runsOf(runs []flytest.Run, id string) []flytest.Run {
	var out []flytest.Run
	for _, r := range runs {
		if r.Env["JOB_ID"] == id {
			out = append(out, r)
		}
	}
	return out
}
