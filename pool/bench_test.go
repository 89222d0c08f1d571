package pool

// Benchmarks; they run only with -bench. BENCHMARKS.md (section 6) has the
// commands, the figures and how to read them.
//
//   - BenchmarkToRunning: the time from calling Run (or RunJob) to the
//     job's command running, read from the emulator's record of the run,
//     and the requests each job makes, counted at the server: a warm
//     pool against a Machine created per job.
//   - BenchmarkProcesses: jobs a second of 4 worker processes sharing a
//     warm pool of 8.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

// Emulator timings of the benchmarks: those of BENCHMARKS.md section 2.
const (
	benchTransition = 20 * time.Millisecond
	benchJobTime    = 300 * time.Millisecond
)

// benchServer is an emulator on loopback that counts the requests it
// serves.
type benchServer struct {
	emu      *flytest.Emulator
	url      string
	requests atomic.Int64
}

func newBenchServer(b *testing.B) *benchServer {
	b.Helper()
	s := &benchServer{emu: flytest.New(append(jobBehaviors(benchJobTime), flytest.WithTransitionDelay(benchTransition))...)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.emu.ServeHTTP(w, r)
	}))
	b.Cleanup(func() {
		s.emu.Close()
		srv.CloseClientConnections()
		srv.Close()
	})
	s.url = srv.URL
	c := s.client(b)
	if _, err := c.CreateApp(context.Background(), &models.CreateAppRequest{Name: testApp, OrgSlug: "personal"}); err != nil {
		b.Fatal(err)
	}
	return s
}

// client is a client of the server with Fly's client-side rate limits off:
// the emulator enforces none, and one Machine's start a second would
// measure the limiter.
func (s *benchServer) client(b *testing.B) *flymachines.Client {
	b.Helper()
	c, err := flymachines.New(flymachines.WithToken(testToken), flymachines.WithBaseURL(s.url), flymachines.WithoutRateLimits())
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkToRunning(b *testing.B) {
	// A warm pool: one Machine, stopped, made by a first job. Each job has
	// a command of its own: an update boots it.
	b.Run("warm-pool-new-command", func(b *testing.B) {
		s := newBenchServer(b)
		p := newPool(b, s.client(b), testConfig(1))
		benchRuns(b, s, func(id int) error {
			_, err := p.Run(context.Background(), jobNamed(id))
			return err
		})
	})
	// The same command every time: a start.
	b.Run("warm-pool-same-command", func(b *testing.B) {
		s := newBenchServer(b)
		p := newPool(b, s.client(b), testConfig(1))
		same := Job{Cmd: []string{"job"}}
		benchRuns(b, s, func(int) error {
			_, err := p.Run(context.Background(), same)
			return err
		})
	})
	// RunJob: a Machine created for the job, destroyed after.
	b.Run("create-per-job", func(b *testing.B) {
		s := newBenchServer(b)
		c := s.client(b)
		conf := testConfig(1).Config
		benchRuns(b, s, func(id int) error {
			job := jobNamed(id)
			cfg := *conf
			cfg.Init, cfg.Env = &models.FlyMachineInit{Cmd: job.Cmd}, job.Env
			_, err := c.RunJob(context.Background(), testApp, &models.CreateMachineRequest{Config: &cfg})
			return err
		})
	})
}

// benchRuns runs b.N jobs one after another, after one unmeasured job
// that warms the pool, and reports how long after each call its job's
// command ran (the runs follow the calls in order) and the requests per
// job.
func benchRuns(b *testing.B, s *benchServer, run func(id int) error) {
	b.Helper()
	if err := run(-1); err != nil {
		b.Fatal(err)
	}
	skip := len(s.emu.Runs(testApp))
	before := s.requests.Load()
	calls := make([]time.Time, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		calls = append(calls, time.Now())
		if err := run(i); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reqs := s.requests.Load() - before
	runs := s.emu.Runs(testApp)[skip:]
	if len(runs) != b.N {
		b.Fatalf("%d runs for %d jobs", len(runs), b.N)
	}
	lat := make([]time.Duration, len(runs))
	for i, r := range runs {
		lat[i] = r.Started.Sub(calls[i])
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	n := float64(len(lat))
	b.ReportMetric(ms(sum)/n, "to-running-ms/op")
	b.ReportMetric(ms(lat[len(lat)*95/100]), "to-running-p95-ms")
	b.ReportMetric(float64(reqs)/n, "requests/op")
}

// BenchmarkProcesses runs 4 worker processes (TestPoolWorker) of 2 jobs at
// once each on a warm pool of 8, 40 jobs each, and reports the jobs
// finished a second, from the moment they start together to the last
// job's exit, and the requests per job.
func BenchmarkProcesses(b *testing.B) {
	const (
		processes = 4
		conc      = 2
		perWorker = 40
		jobs      = processes * perWorker
	)
	for range b.N {
		b.StopTimer()
		s := newBenchServer(b)
		warm := newPool(b, s.client(b), procConfig("warm-up"))
		var wg sync.WaitGroup
		for id := range procMax {
			wg.Go(func() {
				if _, err := warm.Run(context.Background(), jobNamed(1000+id)); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		skip := len(s.emu.Runs(testApp))
		before := s.requests.Load()
		start := time.Now().Add(time.Second) // the workers' processes start meanwhile
		var workers []*worker
		for i := range processes {
			span := fmt.Sprintf("%d-%d", i*perWorker, (i+1)*perWorker)
			workers = append(workers, startWorker(b, s.url, fmt.Sprintf("worker-%d", i), span, conc, start))
		}
		b.StartTimer()
		for _, w := range workers {
			if err := <-w.done; err != nil {
				b.Fatalf("%s: %v\n%s", w.name, err, w.out.String())
			}
		}
		b.StopTimer()
		runs := s.emu.Runs(testApp)[skip:]
		var last time.Time
		for _, r := range runs {
			if r.Ended.After(last) {
				last = r.Ended
			}
		}
		if len(runs) != jobs {
			b.Fatalf("%d runs for %d jobs", len(runs), jobs)
		}
		took := last.Sub(start)
		b.ReportMetric(float64(jobs)/took.Seconds(), "jobs/s")
		// Each Machine at best boots (one transition) and runs the job, back
		// to back.
		b.ReportMetric(float64(procMax)/(benchJobTime+benchTransition).Seconds(), "ideal-jobs/s")
		b.ReportMetric(float64(s.requests.Load()-before)/jobs, "requests/job")
	}
}
