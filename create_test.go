package flymachines_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

// createFaults are the faults of TestThousandCreatesUnderFaults: every
// ambiguous and unambiguous failure a create can meet.
var createFaults = []flytest.Fault{
	{Status: 408, AfterApply: true, Rate: 0.10},
	{Drop: true, AfterApply: true, Rate: 0.05},
	{Status: 502, AfterApply: true, Rate: 0.05},
	{Status: 503, Rate: 0.05},
	{Drop: true, Rate: 0.03},
	{Status: 429, Rate: 0.05},
}

// TestThousandCreatesWithLaggingFaultyLists: the create faults of
// TestThousandCreatesUnderFaults, plus a Machine list that lags 1-2 s
// behind creates and answers 500 to half the lookups. With the default
// launch window, 1,000 creates leave exactly 1,000 Machines: each is
// returned to its caller, or reported unresolved with its launch id and
// settled by the caller's repeat with that launch id.
func TestThousandCreatesWithLaggingFaultyLists(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, []flytest.Option{flytest.WithSeed(11), flytest.WithTransitionDelay(time.Millisecond),
			flytest.WithListLag(time.Second, 2*time.Second)})
		for _, f := range createFaults {
			r.srv.InjectFault("Machines_create", f)
		}
		listFault := r.srv.InjectFault("Machines_list", flytest.Fault{Status: 500, Rate: 0.5})

		const total, workers = 1000, 8
		var next atomic.Int64
		returned := make([]string, total)
		var unresolved atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= total {
						return
					}
					req := &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "worker",
						Metadata: map[string]string{"n": fmt.Sprint(i)}}, SkipLaunch: true}
					m, err := r.c.CreateMachine(context.Background(), r.app, req, flymachines.WithCreateAttempts(5))
					// What the error tells a caller to do: settle it later
					// with the launch id it carries.
					for try := 0; try < 10 && errors.Is(err, flymachines.ErrCreateUnresolved); try++ {
						unresolved.Add(1)
						ue, _ := errors.AsType[*flymachines.CreateUnresolvedError](err)
						time.Sleep(time.Second)
						m, err = r.c.CreateMachine(context.Background(), r.app, req, flymachines.WithLaunchID(ue.LaunchID))
					}
					if err != nil {
						t.Errorf("create %d: %v", i, err)
						continue
					}
					returned[i] = m.ID
				}
			})
		}
		wg.Wait()
		t.Logf("%d lookups hit a 500; %d creates were unresolved, then settled by the caller", r.srv.FaultHits(listFault), unresolved.Load())
		r.srv.RemoveFault(listFault)
		time.Sleep(3 * time.Second) // past the list's lag
		all := r.allMachines()
		t.Logf("%d machines from %d creates", len(all), total)
		if len(all) != total {
			t.Errorf("%d machines exist, want exactly %d", len(all), total)
		}
		byN := map[string]int{}
		ids := map[string]bool{}
		for _, m := range all {
			byN[m.Config.Metadata["n"]]++
			ids[m.ID] = true
		}
		for i, id := range returned {
			if c := byN[fmt.Sprint(i)]; c != 1 {
				t.Errorf("create %d made %d machines", i, c)
			}
			if id != "" && !ids[id] {
				t.Errorf("create %d returned %s, which does not exist", i, id)
			}
		}
	})
}

// createRequest is a Machine that is not launched, tagged with n.
func createRequest(n string) *models.CreateMachineRequest {
	return &models.CreateMachineRequest{SkipLaunch: true, Config: &models.FlyMachineConfig{Image: "worker", Metadata: map[string]string{"n": n}}}
}

// settledMachines lists the app's Machines once the list has caught up.
func (r *resilient) settledMachines() []*models.Machine {
	r.t.Helper()
	time.Sleep(flymachines.DefaultLaunchWindow)
	return r.allMachines()
}

// TestLaunchIDIsAnIdempotencyKey: a repeat with a launch id returns the
// Machine of the first call, in a row or at once, with or without faults.
func TestLaunchIDIsAnIdempotencyKey(t *testing.T) {
	t.Parallel()
	t.Run("twice in a row", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			// The list lags: the second call must not rely on it.
			r := newResilient(t, []flytest.Option{flytest.WithListLag(time.Second, 2*time.Second)})
			first, err := r.c.CreateMachine(context.Background(), r.app, createRequest("a"), flymachines.WithLaunchID("deploy-42"))
			if err != nil {
				t.Fatal(err)
			}
			again, err := r.c.CreateMachine(context.Background(), r.app, createRequest("a"), flymachines.WithLaunchID("deploy-42"))
			if err != nil {
				t.Fatal(err)
			}
			if again.ID != first.ID {
				t.Errorf("the repeat returned %s, the first call %s", again.ID, first.ID)
			}
			if n := len(r.settledMachines()); n != 1 {
				t.Errorf("%d machines, want 1", n)
			}
		})
	})
	t.Run("ten at once, with faults", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			r := newResilient(t, []flytest.Option{flytest.WithSeed(3), flytest.WithListLag(time.Second, 2*time.Second)})
			r.srv.InjectFault("Machines_create", flytest.Fault{Status: 408, AfterApply: true, Times: 1})
			listFault := r.srv.InjectFault("Machines_list", flytest.Fault{Status: 500, Rate: 0.3})
			ids := make([]string, 10)
			var wg sync.WaitGroup
			for i := range ids {
				wg.Go(func() {
					m, err := r.c.CreateMachine(context.Background(), r.app, createRequest("b"), flymachines.WithLaunchID("deploy-43"))
					if err != nil {
						t.Errorf("caller %d: %v", i, err)
						return
					}
					ids[i] = m.ID
				})
			}
			wg.Wait()
			r.srv.RemoveFault(listFault)
			for i, id := range ids {
				if id != ids[0] {
					t.Errorf("caller %d got %s, caller 0 %s", i, id, ids[0])
				}
			}
			if n := len(r.settledMachines()); n != 1 {
				t.Errorf("%d machines, want 1", n)
			}
		})
	})
	t.Run("another client, once the list shows it", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			r := newResilient(t, []flytest.Option{flytest.WithListLag(time.Second, 2*time.Second)})
			first, err := r.c.CreateMachine(context.Background(), r.app, createRequest("c"), flymachines.WithLaunchID("deploy-44"))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(flymachines.DefaultLaunchWindow) // a restarted program, later
			again, err := r.client(aliceToken).CreateMachine(context.Background(), r.app, createRequest("c"), flymachines.WithLaunchID("deploy-44"))
			if err != nil {
				t.Fatal(err)
			}
			if again.ID != first.ID {
				t.Errorf("the other client created %s, the first had %s", again.ID, first.ID)
			}
		})
	})
}

// answerRewrite passes requests of one operation to next and replaces the
// body of the answer with what rewrite makes of it; the rest pass as they
// are.
func answerRewrite(next http.RoundTripper, method, pathSuffix string, rewrite func(status int, body []byte) (int, []byte)) http.RoundTripper {
	return roundTrip(func(r *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(r)
		if err != nil || r.Method != method || !strings.HasSuffix(r.URL.Path, pathSuffix) {
			return resp, err
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.StatusCode, body = rewrite(resp.StatusCode, body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Del("Content-Length")
		return resp, nil
	})
}

// TestCreateLooksBeforeReportingFailure: a create the API applied but
// answered with a 500, a 400, a cut or an empty 200 returns the Machine
// it made; one it did not apply reports the failure, after a lookup, and
// is not sent again.
func TestCreateLooksBeforeReportingFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		fault   *flytest.Fault
		rewrite func(int, []byte) (int, []byte)
		applied bool
		status  int // the error's status when not applied
	}{
		{name: "500 after the create applied", fault: &flytest.Fault{Status: 500, AfterApply: true, Times: 1}, applied: true},
		{name: "400 after the create applied", fault: &flytest.Fault{Status: 400, AfterApply: true, Times: 1}, applied: true},
		{name: "200 cut short", rewrite: func(s int, b []byte) (int, []byte) { return s, b[:len(b)/2] }, applied: true},
		{name: "200 {}", rewrite: func(s int, _ []byte) (int, []byte) { return s, []byte(`{}`) }, applied: true},
		{name: "200 null", rewrite: func(s int, _ []byte) (int, []byte) { return s, []byte(`null`) }, applied: true},
		{name: "200 empty", rewrite: func(s int, _ []byte) (int, []byte) { return s, nil }, applied: true},
		{name: `200 {"error":...}`, rewrite: func(s int, _ []byte) (int, []byte) { return s, []byte(`{"error":"try later"}`) }, applied: true},
		{name: "500 before the create applied", fault: &flytest.Fault{Status: 500, Times: 1}, status: 500},
		{name: "400 before the create applied", fault: &flytest.Fault{Status: 400, Times: 1}, status: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				r := newResilient(t, []flytest.Option{flytest.WithListLag(time.Second, 2*time.Second)})
				if tc.fault != nil {
					r.srv.InjectFault("Machines_create", *tc.fault)
				}
				rt := r.srv.transport
				if tc.rewrite != nil {
					rt = answerRewrite(rt, http.MethodPost, "/machines", tc.rewrite)
				}
				var creates atomic.Int64
				c := r.client(aliceToken, flymachines.WithHTTPClient(&http.Client{Transport: roundTrip(func(req *http.Request) (*http.Response, error) {
					if req.Method == http.MethodPost {
						creates.Add(1)
					}
					return rt.RoundTrip(req)
				})}))
				m, err := c.CreateMachine(context.Background(), r.app, createRequest("x"))
				all := r.settledMachines()
				switch {
				case tc.applied && err != nil:
					t.Fatalf("err = %v, want the Machine the API made", err)
				case tc.applied && (m == nil || m.ID == "" || len(all) != 1 || all[0].ID != m.ID):
					t.Fatalf("returned %+v; %d machines exist", m, len(all))
				case !tc.applied && err == nil:
					t.Fatalf("returned %+v, want an error", m)
				case !tc.applied && len(all) != 0:
					t.Fatalf("%d machines exist, want none", len(all))
				}
				if e, ok := errors.AsType[*flymachines.APIError](err); !tc.applied && (!ok || e.StatusCode != tc.status) {
					t.Errorf("err = %v, want the create's HTTP %d", err, tc.status)
				}
				if n := creates.Load(); n != 1 {
					t.Errorf("the create was sent %d times, want once", n)
				}
			})
		})
	}
}

// TestUnsettledCreateIsAnErrorWithItsLaunchID: when the lookup after an
// ambiguous create cannot complete, nothing is sent again: the error
// matches ErrCreateUnresolved and carries the launch id, with which a
// later repeat returns the Machine.
func TestUnsettledCreateIsAnErrorWithItsLaunchID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault flytest.Fault
	}{
		{"list answers 500", flytest.Fault{Status: 500}},
		{"list answers 503", flytest.Fault{Status: 503}},
		{"list answers 404", flytest.Fault{Status: 404}},
		{"list connection dropped", flytest.Fault{Drop: true}},
		{"list answers 429 with a long Retry-After", flytest.Fault{Status: 429, RetryAfter: time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				r := newResilient(t, nil)
				r.srv.InjectFault("Machines_create", flytest.Fault{Status: 503, AfterApply: true, Times: 1})
				listFault := r.srv.InjectFault("Machines_list", tc.fault)
				_, err := r.c.CreateMachine(context.Background(), r.app, createRequest("u"))
				ue, ok := errors.AsType[*flymachines.CreateUnresolvedError](err)
				if !ok || !errors.Is(err, flymachines.ErrCreateUnresolved) || ue.LaunchID == "" {
					t.Fatalf("err = %v, want a *CreateUnresolvedError with the launch id", err)
				}
				if e, ok := errors.AsType[*flymachines.APIError](ue.Err); !ok || e.StatusCode != 503 {
					t.Errorf("Err = %v, want the create's 503", ue.Err)
				}
				if ue.LookupErr == nil {
					t.Error("LookupErr is nil")
				}
				r.srv.RemoveFault(listFault)
				all := r.settledMachines()
				if len(all) != 1 || all[0].Config.Metadata[flymachines.LaunchIDKey] != ue.LaunchID {
					t.Fatalf("%d machines, want the one the first create made", len(all))
				}
				m, err := r.c.CreateMachine(context.Background(), r.app, createRequest("u"), flymachines.WithLaunchID(ue.LaunchID))
				if err != nil || m.ID != all[0].ID {
					t.Errorf("the repeat with the launch id: %v, %v; want %s", m, err, all[0].ID)
				}
				if n := len(r.allMachines()); n != 1 {
					t.Errorf("%d machines after the repeat, want 1", n)
				}
			})
		})
	}

	t.Run("the context ends while looking", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			r := newResilient(t, []flytest.Option{flytest.WithListLag(time.Minute, time.Minute)})
			r.srv.InjectFault("Machines_create", flytest.Fault{Status: 503, Times: 1})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := r.c.CreateMachine(ctx, r.app, createRequest("v"))
			ue, ok := errors.AsType[*flymachines.CreateUnresolvedError](err)
			if !ok || ue.LaunchID == "" || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want a *CreateUnresolvedError matching DeadlineExceeded", err)
			}
			// Not applied: the repeat, after the window, creates it.
			m, err := r.c.CreateMachine(context.Background(), r.app, createRequest("v"), flymachines.WithLaunchID(ue.LaunchID),
				flymachines.WithLaunchWindow(time.Minute+time.Second))
			if err != nil || m.Config.Metadata[flymachines.LaunchIDKey] != ue.LaunchID {
				t.Fatalf("the repeat: %v, %v", m, err)
			}
		})
	})
}

// TestCreateAppNeverAdoptsAnotherApp: a create that failed unapplied,
// then found the name taken on its retry, is not a success: someone else
// took the name. Only the API's own answer to the same idempotency key
// makes the app this call's.
func TestCreateAppNeverAdoptsAnotherApp(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		r := newResilient(t, nil)
		if _, err := r.client(bobToken).CreateApp(context.Background(), &models.CreateAppRequest{Name: "bobs-app", OrgSlug: "personal"}); err != nil {
			t.Fatal(err)
		}
		r.srv.InjectFault("Apps_create", flytest.Fault{Status: 502, Times: 1})
		created, err := r.c.CreateApp(context.Background(), &models.CreateAppRequest{Name: "bobs-app", OrgSlug: "personal"})
		if err == nil {
			t.Fatalf("CreateApp adopted app %s, someone else's", created.ID)
		}
		if !errors.Is(err, flymachines.ErrCreateUnresolved) || !errors.Is(err, flymachines.ErrConflict) {
			t.Errorf("err = %v, want ErrCreateUnresolved and ErrConflict", err)
		}

		// Without an earlier doubt, name_taken is a plain conflict.
		_, err = r.c.CreateApp(context.Background(), &models.CreateAppRequest{Name: "bobs-app", OrgSlug: "personal"})
		if !errors.Is(err, flymachines.ErrConflict) || errors.Is(err, flymachines.ErrCreateUnresolved) {
			t.Errorf("err = %v, want ErrConflict alone", err)
		}

		// An answer that names no app is no success either.
		c := r.client(aliceToken, flymachines.WithHTTPClient(&http.Client{Transport: answerRewrite(r.srv.transport, http.MethodPost, "/apps",
			func(s int, _ []byte) (int, []byte) { return s, []byte(`{}`) })}))
		if created, err := c.CreateApp(context.Background(), &models.CreateAppRequest{Name: "empty-answer", OrgSlug: "personal"}); err == nil {
			t.Errorf("CreateApp returned %+v from an answer without an app", created)
		}
	})
}
