package flymachines_test

// Benchmarks; they run only with -bench. BENCHMARKS.md has the commands,
// the figures and how to read them.
//
//   - BenchmarkGetMachine: the per-call cost of GET machine through the
//     facade against plain net/http + encoding/json, on the same body from
//     the same loopback server. The server runs in a child process (this
//     test binary, see TestBenchBodyServer), so B/op and allocs/op count
//     the client alone.
//   - BenchmarkCreateWaitStarted, BenchmarkWaitForExit: how long after a
//     Machine's state changes the caller knows, and how many requests it
//     made to learn it, with the server-side wait against polling GET.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/internal/inmem"
	"github.com/flymachines/flymachines-go/models"
)

// benchMachineJSON is a Machine as GET /v1/apps/{app}/machines/{id}
// returns it for a small web app: config with services, checks, mounts and
// metadata, the image reference, recent events and check statuses.
const benchMachineJSON = `{"id":"148ed193b95089","name":"black-night-5283","state":"started","region":"cdg",` +
	`"instance_id":"01J9ZQ6W4R1S6B2TTXK8HV6E3D","version":"01J9ZQ6W4R1S6B2TTXK8HV6E3D","private_ip":"fdaa:0:3ec2:a7b:5adc:6068:5b85:2",` +
	`"config":{"image":"registry.fly.io/shop-web:deployment-01J9ZQ5V2A7C","env":{"APP_ENV":"production","DATABASE_POOL":"10",` +
	`"FLY_PROCESS_GROUP":"app","PRIMARY_REGION":"cdg","RAILS_LOG_TO_STDOUT":"1","TZ":"UTC"},` +
	`"init":{"cmd":["bundle","exec","puma","-C","config/puma.rb"],"entrypoint":null,"exec":null,"kernel_args":null,"swap_size_mb":512},` +
	`"guest":{"cpu_kind":"shared","cpus":2,"memory_mb":1024},` +
	`"metadata":{"fly_flyctl_version":"0.3.20","fly_platform_version":"v2","fly_process_group":"app","fly_release_id":"Gx9k2mQ","fly_release_version":"142"},` +
	`"mounts":[{"volume":"vol_4ylw9k8j2qe6z3mv","path":"/data","name":"shop_data","size_gb":10,"encrypted":true}],` +
	`"services":[{"protocol":"tcp","internal_port":3000,"autostop":"stop","autostart":true,"min_machines_running":1,` +
	`"ports":[{"port":80,"handlers":["http"],"force_https":true},{"port":443,"handlers":["tls","http"]}],` +
	`"concurrency":{"type":"requests","hard_limit":250,"soft_limit":200},` +
	`"checks":[{"type":"http","interval":"15s","timeout":"5s","grace_period":"10s","method":"GET","path":"/up","protocol":"http"}]}],` +
	`"checks":{"db":{"type":"tcp","port":5432,"interval":"30s","timeout":"3s","grace_period":"30s"},` +
	`"health":{"type":"http","port":3000,"interval":"10s","timeout":"2s","method":"GET","path":"/healthz","protocol":"http"}},` +
	`"restart":{"policy":"on-failure","max_retries":10},"metrics":{"port":9394,"path":"/metrics"},` +
	`"stop_config":{"timeout":"30s","signal":"SIGTERM"}},` +
	`"image_ref":{"registry":"registry.fly.io","repository":"shop-web","tag":"deployment-01J9ZQ5V2A7C",` +
	`"digest":"sha256:5d5b1c2a4fb06e0a1cf0e0f8f1d5e2a3c0a4a17b2f9d3e8c6b1a0f9e8d7c6b5a","labels":{"fly.pg-version":"","org.opencontainers.image.source":"https://github.com/example/shop"}},` +
	`"created_at":"2024-10-02T09:14:31Z","updated_at":"2024-10-02T09:15:02Z",` +
	`"events":[{"id":"01J9ZQ7F0X6N3D9S2C4B8A7K1M","type":"start","status":"started","source":"flyd","timestamp":1727860502118},` +
	`{"id":"01J9ZQ7DG2H8Y5W3R1P0N9M8L7","type":"launch","status":"created","source":"user","timestamp":1727860471533},` +
	`{"id":"01J9ZQ5Z7K6J5H4G3F2E1D0C9B","type":"exit","status":"stopped","source":"flyd","timestamp":1727860390004,` +
	`"request":{"exit_event":{"exit_code":0,"guest_exit_code":0,"guest_signal":-1,"oom_killed":false,"requested_stop":true,` +
	`"restarting":false,"signal":-1,"exited_at":"2024-10-02T09:13:10.004Z"},"restart_count":0}},` +
	`{"id":"01J9ZQ5Y1A2B3C4D5E6F7G8H9J","type":"stop","status":"stopping","source":"user","timestamp":1727860388912}],` +
	`"checks":[{"name":"db","status":"passing","output":"Success","updated_at":"2024-10-02T09:15:40Z"},` +
	`{"name":"health","status":"passing","output":"HTTP GET http://172.19.8.2:3000/healthz: 200 OK Output: \"ok\"","updated_at":"2024-10-02T09:15:41Z"}],` +
	`"host_status":"ok","cordoned":false,"host_features":[]}`

const benchServerEnv = "FLYMACHINES_BENCH_BODY_SERVER"

// TestBenchBodyServer is not a test: run by BenchmarkGetMachine in a child
// process, it serves benchMachineJSON on loopback, prints its URL and runs
// until its stdin closes. Skipped otherwise.
func TestBenchBodyServer(t *testing.T) {
	if os.Getenv(benchServerEnv) != "1" {
		t.Skip("the GET benchmarks' server process")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(benchMachineJSON)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, "/v1/apps/") || r.Header.Get("Authorization") == "" {
			http.Error(w, `{"error":"unexpected request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("fly-request-id", "01J9ZQ8A0B1C2D3E4F5G6H7J8K-cdg")
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("http://%s\n", ln.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
}

// startBodyServer runs TestBenchBodyServer in a child process and returns
// its base URL.
func startBodyServer(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchBodyServer$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		b.Fatalf("server process: %q, %v", line, err)
	}
	return strings.TrimSpace(line)
}

// BenchmarkGetMachine: one GET machine per op, sequential, keep-alive.
func BenchmarkGetMachine(b *testing.B) {
	base := startBodyServer(b)
	const token = "fm2_lJPECAAAAAAAAbenchmarkMacaroonToken0123456789=="
	url := base + "/v1/apps/shop-web/machines/148ed193b95089"

	// The baselines: what a hand-written client does.
	rawClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}}
	rawGet := func(b *testing.B) *http.Response {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "FlyV1 "+token)
		req.Header.Set("User-Agent", "bench")
		resp, err := rawClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		return resp
	}

	b.Run("raw-net-http-discard", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp := rawGet(b)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("raw-net-http-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			resp := rawGet(b)
			var m models.Machine
			err := json.NewDecoder(resp.Body).Decode(&m)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || m.ID != "148ed193b95089" || m.Config == nil || len(m.Config.Services) != 1 {
				b.Fatalf("decoded %+v, %v", m, err)
			}
		}
	})
	facade := func(b *testing.B, opts ...flymachines.Option) {
		c, err := flymachines.New(append([]flymachines.Option{flymachines.WithToken(token), flymachines.WithBaseURL(base), flymachines.WithoutRateLimits()}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			m, err := c.Machines.Show(ctx, "shop-web", "148ed193b95089", nil)
			if err != nil {
				b.Fatal(err)
			}
			if m.ID != "148ed193b95089" || m.Config == nil || len(m.Config.Services) != 1 {
				b.Fatalf("decoded %+v", m)
			}
		}
	}
	b.Run("facade", func(b *testing.B) { facade(b) })
	// Tracing on, spans recorded and dropped (no exporter): what a span
	// per call costs.
	b.Run("facade-traced", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider()
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		facade(b, flymachines.WithTracerProvider(tp))
	})
}

// tapClock is the emulator's clock, instrumented: each reading returns a
// distinct synthetic instant, one millisecond after the previous, and
// records the real time it was taken. An event's timestamp (milliseconds)
// then names the reading made when the event happened, and so the real
// instant of the state change, to the nanosecond. Transitions and waits
// run on real timers, so the synthetic time changes nothing else here.
type tapClock struct {
	mu   sync.Mutex
	base time.Time
	real []time.Time
}

func newTapClock() *tapClock {
	return &tapClock{base: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *tapClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.real = append(c.real, time.Now())
	return c.base.Add(time.Duration(len(c.real)-1) * time.Millisecond)
}

// realAt is the real instant of the reading whose synthetic time is ms.
func (c *tapClock) realAt(b *testing.B, ms int64) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := ms - c.base.UnixMilli()
	if i < 0 || i >= int64(len(c.real)) {
		b.Fatalf("timestamp %d is no reading of the clock", ms)
	}
	return c.real[i]
}

// countingTransport counts the requests a client sends.
type countingTransport struct{ n atomic.Int64 }

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// latencyBench is an emulator, a client that counts its requests, and the
// tallies a benchmark reports.
type latencyBench struct {
	b       *testing.B
	clock   *tapClock
	srv     *flytest.Server
	c       *flymachines.Client
	count   *countingTransport
	detect  []time.Duration
	reqs    int64
	rng     *rand.Rand
	created int
}

const benchApp = "bench-app"

func newLatencyBench(b *testing.B, opts ...flytest.Option) *latencyBench {
	lb := &latencyBench{b: b, clock: newTapClock(), count: &countingTransport{}, rng: rand.New(rand.NewPCG(1, 2))}
	lb.srv = flytest.NewServer(b, append([]flytest.Option{flytest.WithClock(lb.clock)}, opts...)...)
	c, err := flymachines.New(flymachines.WithToken("fo1_benchmarkToken0123456789"), flymachines.WithBaseURL(lb.srv.URL()),
		flymachines.WithoutRateLimits(), flymachines.WithHTTPClient(&http.Client{Transport: lb.count}))
	if err != nil {
		b.Fatal(err)
	}
	lb.c = c
	if _, err := c.Apps.Create(context.Background(), &models.CreateAppRequest{Name: benchApp, OrgSlug: "personal"}); err != nil {
		b.Fatal(err)
	}
	return lb
}

func (lb *latencyBench) create(image string) *models.Machine {
	m, err := lb.c.Machines.Create(context.Background(), benchApp, &models.CreateMachineRequest{Config: &models.FlyMachineConfig{
		Image: image, Restart: &models.FlyMachineRestart{Policy: models.FlyMachineRestartPolicyNo},
	}})
	if err != nil {
		lb.b.Fatal(err)
	}
	lb.created++
	return m
}

// changedAt is the real instant of the Machine's newest event of type typ
// that brought it to state.
func (lb *latencyBench) changedAt(id, typ, state string) time.Time {
	events, err := lb.c.Machines.ListEvents(context.Background(), benchApp, id, nil)
	if err != nil {
		lb.b.Fatal(err)
	}
	for _, ev := range events { // newest first
		if ev.Type == typ && ev.Status == state {
			return lb.clock.realAt(lb.b, ev.Timestamp)
		}
	}
	lb.b.Fatalf("machine %s has no %s event to %s", id, typ, state)
	return time.Time{}
}

// measure runs learn (which must return when the caller knows) and
// tallies the delay after the event typ to state, and the requests.
func (lb *latencyBench) measure(id, typ, state string, learn func()) {
	before := lb.count.n.Load()
	learn()
	known := time.Now()
	lb.reqs += lb.count.n.Load() - before
	lb.b.StopTimer()
	lb.detect = append(lb.detect, known.Sub(lb.changedAt(id, typ, state)))
	lb.b.StartTimer()
}

func (lb *latencyBench) report() {
	if len(lb.detect) == 0 {
		return
	}
	slices.Sort(lb.detect)
	var sum time.Duration
	for _, d := range lb.detect {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	n := float64(len(lb.detect))
	lb.b.ReportMetric(ms(sum)/n, "detect-ms/op")
	lb.b.ReportMetric(ms(lb.detect[len(lb.detect)*95/100]), "detect-p95-ms")
	lb.b.ReportMetric(float64(lb.reqs)/n, "requests/op")
}

// poll GETs the Machine every interval, starting at a random phase (the
// state change and the poller's schedule are unrelated), until done says
// it is there. This is what a poller at interval P does, with P scaled down.
func (lb *latencyBench) poll(id string, interval time.Duration, done func(*models.Machine) bool) {
	time.Sleep(time.Duration(lb.rng.Int64N(int64(interval))))
	for {
		m, err := showBench(lb.c, id)
		if err != nil {
			lb.b.Fatal(err)
		}
		if done(m) {
			return
		}
		time.Sleep(interval)
	}
}

func showBench(c *flymachines.Client, id string) (*models.Machine, error) {
	return c.Machines.Show(context.Background(), benchApp, id, nil)
}

// pollIntervals are the poll intervals measured: 10 s and 1 s scaled down
// 100 times.
var pollIntervals = []time.Duration{100 * time.Millisecond, 10 * time.Millisecond}

// BenchmarkCreateWaitStarted: create a Machine (created, starting, started,
// 20 ms each transient state), then learn it started.
func BenchmarkCreateWaitStarted(b *testing.B) {
	b.Run("server-wait", func(b *testing.B) {
		lb := newLatencyBench(b)
		for b.Loop() {
			m := lb.create("nginx")
			lb.measure(m.ID, "start", flymachines.StateStarted, func() {
				if err := lb.c.WaitStarted(context.Background(), benchApp, m.ID, flymachines.WithInstanceID(m.InstanceID)); err != nil {
					b.Fatal(err)
				}
			})
		}
		lb.report()
	})
	for _, interval := range pollIntervals {
		b.Run(fmt.Sprintf("poll-%s", interval), func(b *testing.B) {
			lb := newLatencyBench(b)
			for b.Loop() {
				m := lb.create("nginx")
				lb.measure(m.ID, "start", flymachines.StateStarted, func() {
					lb.poll(m.ID, interval, func(m *models.Machine) bool { return m.State == flymachines.StateStarted })
				})
			}
			lb.report()
		})
	}
}

// BenchmarkWaitForExit: a job that runs 300 ms after it starts; learn its
// exit code. The server-side way is WaitForExit; the polling way GETs the
// Machine until it is stopped, then reads its events for the exit code.
func BenchmarkWaitForExit(b *testing.B) {
	const jobRuns = 300 * time.Millisecond
	opts := []flytest.Option{flytest.WithImageBehavior("job", flytest.ExitAfter(jobRuns, 3))}
	check := func(b *testing.B, code int) {
		if code != 3 {
			b.Fatalf("exit code %d, want 3", code)
		}
	}
	b.Run("server-wait", func(b *testing.B) {
		lb := newLatencyBench(b, opts...)
		for b.Loop() {
			m := lb.create("job")
			lb.measure(m.ID, "exit", flymachines.StateStopped, func() {
				st, err := lb.c.WaitForExit(context.Background(), benchApp, m.ID)
				if err != nil {
					b.Fatal(err)
				}
				check(b, st.ExitCode)
			})
		}
		lb.report()
	})
	for _, interval := range pollIntervals {
		b.Run(fmt.Sprintf("poll-%s", interval), func(b *testing.B) {
			lb := newLatencyBench(b, opts...)
			for b.Loop() {
				m := lb.create("job")
				lb.measure(m.ID, "exit", flymachines.StateStopped, func() {
					lb.poll(m.ID, interval, func(m *models.Machine) bool { return m.State == flymachines.StateStopped })
					events, err := lb.c.Machines.ListEvents(context.Background(), benchApp, m.ID, nil)
					if err != nil {
						b.Fatal(err)
					}
					for _, ev := range events {
						if ev.Type == "exit" {
							var req struct {
								ExitEvent struct {
									ExitCode int `json:"exit_code"`
								} `json:"exit_event"`
							}
							raw, _ := json.Marshal(ev.Request)
							if err := json.Unmarshal(raw, &req); err != nil {
								b.Fatal(err)
							}
							check(b, req.ExitEvent.ExitCode)
							return
						}
					}
					b.Fatal("no exit event")
				})
			}
			lb.report()
		})
	}
}

// BenchmarkLongWait: a job that runs 2.5 s, longer than the server-side
// wait calls, cut to 1 s (the API's least) to stand for waits of minutes
// against 60 s calls: the helper calls again after each 408 and looks the
// Machine up in between. Run it with a small -benchtime (e.g. 3x).
func BenchmarkLongWait(b *testing.B) {
	const jobRuns = 2500 * time.Millisecond
	opts := []flytest.Option{flytest.WithImageBehavior("job", flytest.ExitAfter(jobRuns, 0))}
	b.Run("server-wait-1s-calls", func(b *testing.B) {
		lb := newLatencyBench(b, opts...)
		for b.Loop() {
			m := lb.create("job")
			lb.measure(m.ID, "exit", flymachines.StateStopped, func() {
				_, err := lb.c.WaitForState(context.Background(), benchApp, m.ID, []string{flymachines.StateStopped},
					flymachines.WithWaitCallTimeout(time.Second))
				if err != nil {
					b.Fatal(err)
				}
			})
		}
		lb.report()
	})
	b.Run("poll-100ms", func(b *testing.B) {
		lb := newLatencyBench(b, opts...)
		for b.Loop() {
			m := lb.create("job")
			lb.measure(m.ID, "exit", flymachines.StateStopped, func() {
				lb.poll(m.ID, 100*time.Millisecond, func(m *models.Machine) bool { return m.State == flymachines.StateStopped })
			})
		}
		lb.report()
	})
}

// BenchmarkCallOverhead: one GET machine through the whole facade and
// go-openapi's runtime, answered in memory (internal/inmem) by a handler
// that writes a canned Machine: what the client itself costs per call,
// without a network's noise. "untraced" is the default; "traced" records
// a span per call into a provider with no exporter.
func BenchmarkCallOverhead(b *testing.B) {
	body := []byte(benchMachineJSON)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("fly-request-id", "01J9ZQ8A0B1C2D3E4F5G6H7J8K-cdg")
		_, _ = w.Write(body)
	})
	run := func(b *testing.B, opts ...flymachines.Option) {
		c, err := flymachines.New(append([]flymachines.Option{
			flymachines.WithToken("fm2_lJPECAAAAAAAAbenchmarkMacaroonToken0123456789=="),
			flymachines.WithBaseURL("http://bench.internal"),
			flymachines.WithHTTPClient(&http.Client{Transport: inmem.Transport(h)}),
			flymachines.WithoutRateLimits(),
		}, opts...)...)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.Machines.Show(ctx, "shop-web", "148ed193b95089", nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("untraced", func(b *testing.B) { run(b) })
	b.Run("traced", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider()
		b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
		run(b, flymachines.WithTracerProvider(tp))
	})
}
