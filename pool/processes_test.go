package pool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

// Environment of a worker process (TestPoolWorker).
const (
	envWorkerURL   = "POOL_TEST_WORKER_URL"   // the emulator
	envWorkerJobs  = "POOL_TEST_WORKER_JOBS"  // "FROM-TO": jobs FROM..TO-1; or "hang"
	envWorkerConc  = "POOL_TEST_WORKER_CONC"  // jobs at once
	envWorkerName  = "POOL_TEST_WORKER_NAME"  // the Holder
	envWorkerStart = "POOL_TEST_WORKER_START" // unix nanoseconds to wait for, so workers start together
)

// The shared pool of the multi-process test.
const (
	procMax        = 8
	procLeaseTTL   = 2 * time.Second
	procSweepEvery = time.Second
	procJobTime    = 100 * time.Millisecond
)

func procConfig(holder string) Config {
	cfg := testConfig(procMax)
	cfg.LeaseTTL, cfg.SweepEvery, cfg.Holder = procLeaseTTL, procSweepEvery, holder
	return cfg
}

// TestPoolWorker is a worker process of TestPoolAcrossProcesses (the test
// binary run again, with the environment above); run by itself, it is
// skipped. It runs its jobs on the shared pool, each until it runs or
// fails after starting: a job whose Run says nothing started is run
// again, any other error is a failure and the job is not run again (it
// might run twice). It prints one line per job.
func TestPoolWorker(t *testing.T) {
	url := os.Getenv(envWorkerURL)
	if url == "" {
		t.Skip("a worker process of TestPoolAcrossProcesses")
	}
	c, err := flymachines.New(flymachines.WithToken(testToken), flymachines.WithBaseURL(url), flymachines.WithoutRateLimits())
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, c, procConfig(os.Getenv(envWorkerName)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if ns, err := strconv.ParseInt(os.Getenv(envWorkerStart), 10, 64); err == nil {
		time.Sleep(time.Until(time.Unix(0, ns)))
	}

	spec := os.Getenv(envWorkerJobs)
	if spec == "hang" {
		// Runs until this process is killed.
		_, err := p.Run(ctx, Job{Cmd: []string{"hang"}, Env: map[string]string{"JOB_ID": "hang"}})
		t.Fatalf("the hanging job ended: %v", err)
	}
	from, to, _ := strings.Cut(spec, "-")
	first, _ := strconv.Atoi(from)
	last, _ := strconv.Atoi(to)
	conc, _ := strconv.Atoi(os.Getenv(envWorkerConc))
	jobs := make(chan int)
	go func() {
		for id := first; id < last; id++ {
			jobs <- id
		}
		close(jobs)
	}()
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Printf(format+"\n", args...)
	}
	var wg sync.WaitGroup
	for range max(conc, 1) {
		wg.Go(func() {
			for id := range jobs {
				for {
					st, err := p.Run(ctx, jobNamed(id))
					if err == nil && st.Success() {
						say("job %d ok", id)
						break
					}
					if errors.Is(err, ErrNotStarted) && ctx.Err() == nil {
						say("job %d retry: %v", id, err)
						continue
					}
					say("job %d FAILED: %+v %v", id, st, err)
					t.Errorf("job %d: %v", id, err)
					break
				}
			}
		})
	}
	wg.Wait()
}

// worker is a running worker process.
type worker struct {
	name string
	cmd  *exec.Cmd
	out  strings.Builder
	done chan error
}

func startWorker(t testing.TB, url, name, jobs string, conc int, start time.Time) *worker {
	t.Helper()
	w := &worker{name: name, done: make(chan error, 1)}
	w.cmd = exec.Command(os.Args[0], "-test.run=^TestPoolWorker$", "-test.count=1")
	w.cmd.Env = append(os.Environ(), envWorkerURL+"="+url, envWorkerJobs+"="+jobs, envWorkerConc+"="+strconv.Itoa(conc),
		envWorkerName+"="+name, envWorkerStart+"="+strconv.FormatInt(start.UnixNano(), 10))
	w.cmd.Stdout, w.cmd.Stderr = &w.out, &w.out
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		if w.cmd.ProcessState == nil {
			_ = w.cmd.Process.Kill()
		}
	})
	return w
}

// Several processes share one pool on one emulator, with faults on the
// way, and one of them is killed mid-job. From the emulator's record:
// every job ran exactly once, to its own exit; no Machine ran two runs at
// once, and no run was cut short by another claimant; the killed holder's
// Machine was stopped by another process's sweep only after its lease had
// lapsed; and after a drain nothing is left.
func TestPoolAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	const (
		processes = 4
		perWorker = 40
		conc      = 3
		jobs      = processes * perWorker
	)
	opts := append(jobBehaviors(procJobTime), flytest.WithTransitionDelay(10*time.Millisecond), flytest.WithSeed(13))
	srv := flytest.NewServer(t, opts...)
	c, err := flymachines.New(flymachines.WithToken(testToken), flymachines.WithBaseURL(srv.URL()), flymachines.WithoutRateLimits())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.CreateApp(ctx, &models.CreateAppRequest{Name: testApp, OrgSlug: "personal"}); err != nil {
		t.Fatal(err)
	}

	// One process holds a Machine with a job that runs until stopped, and
	// is killed.
	victim := startWorker(t, srv.URL(), "victim", "hang", 1, time.Now())
	hang := waitForRun(t, srv, "hang", 20*time.Second)
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	<-victim.done

	faults := map[string]flytest.FaultID{
		"update 503":              srv.InjectFault("Machines_update", flytest.Fault{Status: 503, Rate: 0.05}),
		"update applied, dropped": srv.InjectFault("Machines_update", flytest.Fault{AfterApply: true, Drop: true, Rate: 0.05}),
		"lease 502":               srv.InjectFault("Machines_create_lease", flytest.Fault{Status: 502, Rate: 0.03}),
		"lease applied, dropped":  srv.InjectFault("Machines_create_lease", flytest.Fault{AfterApply: true, Drop: true, Rate: 0.02}),
		"list 429":                srv.InjectFault("Machines_list", flytest.Fault{Status: 429, RetryAfter: time.Second, Rate: 0.03}),
		"show 503":                srv.InjectFault("Machines_show", flytest.Fault{Status: 503, Rate: 0.05}),
		"wait dropped":            srv.InjectFault("Machines_wait", flytest.Fault{Drop: true, Rate: 0.05}),
		"events dropped":          srv.InjectFault("Machines_list_events", flytest.Fault{Drop: true, Rate: 0.05}),
		"release 503":             srv.InjectFault("Machines_release_lease", flytest.Fault{Status: 503, Rate: 0.05}),
		"create applied, 502":     srv.InjectFault("Machines_create", flytest.Fault{AfterApply: true, Status: 502, Times: 2}),
	}

	begin := time.Now()
	start := begin.Add(200 * time.Millisecond)
	var workers []*worker
	for i := range processes {
		span := fmt.Sprintf("%d-%d", i*perWorker, (i+1)*perWorker)
		workers = append(workers, startWorker(t, srv.URL(), fmt.Sprintf("worker-%d", i), span, conc, start))
	}
	retries := 0
	for _, w := range workers {
		select {
		case err := <-w.done:
			if err != nil {
				t.Errorf("%s: %v\n%s", w.name, err, w.out.String())
			}
		case <-ctx.Done():
			t.Fatalf("%s did not finish:\n%s", w.name, w.out.String())
		}
		retries += strings.Count(w.out.String(), " retry: ")
	}
	took := time.Since(begin)
	var hits []string
	for name, id := range faults {
		hits = append(hits, fmt.Sprintf("%s: %d", name, srv.FaultHits(id)))
	}
	slices.Sort(hits)
	srv.ClearFaults()

	// The killed holder's Machine is reclaimed by a sweep of the workers
	// (or, if they were done first, of this process).
	sweeper := newPool(t, c, procConfig("test"))
	for run := runOf(srv, hang.MachineID, hang.Started); run.Running(); run = runOf(srv, hang.MachineID, hang.Started) {
		if time.Since(killed) > 20*time.Second {
			t.Fatalf("the killed holder's machine still runs: %+v", run)
		}
		if err := sweeper.Sweep(ctx); err != nil {
			t.Log(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	reclaimed := runOf(srv, hang.MachineID, hang.Started)
	if err := sweeper.Drain(ctx); err != nil {
		t.Fatal(err)
	}

	runs := srv.Runs(testApp)
	dup, overlaps, cut := 0, 0, 0
	for id := range jobs {
		rs := runsOf(runs, strconv.Itoa(id))
		if len(rs) != 1 {
			dup++
			t.Errorf("job %d ran %d times: %+v", id, len(rs), rs)
			continue
		}
		if rs[0].End != "exit" || rs[0].ExitCode != 0 {
			cut++
			t.Errorf("job %d did not run to its own exit: %+v", id, rs[0])
		}
	}
	byMachine := map[string][]flytest.Run{}
	for _, r := range runs {
		byMachine[r.MachineID] = append(byMachine[r.MachineID], r)
	}
	for id, rs := range byMachine {
		for i := 1; i < len(rs); i++ {
			if rs[i-1].Running() || rs[i].Started.Before(rs[i-1].Ended) {
				overlaps++
				t.Errorf("machine %s ran two at once: %+v and %+v", id, rs[i-1], rs[i])
			}
		}
	}
	if reclaimed.End != "stop" {
		t.Errorf("the killed holder's machine ended %q, want stopped by a sweep", reclaimed.End)
	}
	lapsedAt := killed.Add(procLeaseTTL - procLeaseTTL/3)
	if reclaimed.Ended.Before(lapsedAt) {
		t.Errorf("the killed holder's machine was stopped %s after the kill, before its lease could lapse",
			reclaimed.Ended.Sub(killed))
	}
	reused := 0
	for _, r := range byMachine[hang.MachineID] {
		if r.Started.After(reclaimed.Ended) {
			reused++
		}
	}
	left, err := c.Machines.List(ctx, testApp, &machines.ListParams{IncludeLeases: true})
	if err != nil {
		t.Fatal(err)
	}
	if left = slices.DeleteFunc(left, gone); len(left) != 0 {
		t.Errorf("left after the drain: %+v", left)
	}
	t.Logf("%d jobs in %d processes (%d at once each, pool max %d) in %s: %d runs on %d machines, %d runs again after ErrNotStarted",
		jobs, processes, conc, procMax, took.Round(time.Millisecond), len(runs), len(byMachine), retries)
	t.Logf("duplicates %d, overlaps %d, cut short %d, left %d", dup, overlaps, cut, len(left))
	t.Logf("killed holder: its machine stopped %s after the kill (lease ttl %s), by a sweep; %d jobs ran on it after",
		reclaimed.Ended.Sub(killed).Round(time.Millisecond), procLeaseTTL, reused)
	t.Logf("faults hit: %s", strings.Join(hits, ", "))
}

// waitForRun waits for a run of job id to start and returns it.
func waitForRun(t *testing.T, srv *flytest.Server, id string, within time.Duration) flytest.Run {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if rs := runsOf(srv.Runs(testApp), id); len(rs) > 0 {
			return rs[0]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %s never started", id)
	return flytest.Run{}
}

// runOf is the run of a Machine that started at started.
func runOf(srv *flytest.Server, machine string, started time.Time) flytest.Run {
	for _, r := range srv.Runs(testApp) {
		if r.MachineID == machine && r.Started.Equal(started) {
			return r
		}
	}
	return flytest.Run{}
}
