package flytest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client/ops"
	"github.com/flymachines/flymachines-go/models"
)

// TestFaultsThroughThePipeline drives each kind of injected fault through
// the generated client.
func TestFaultsThroughThePipeline(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	show := func(opts ...call.Option) error {
		_, err := en.c.Machines.Show(en.ctx, testApp, m.ID, nil, opts...)
		return err
	}
	cases := []struct {
		name           string
		fault          Fault
		wantCode       int // 0: a transport error, no HTTP answer
		wantRetryAfter string
	}{
		{"429 with Retry-After", Fault{Status: 429, RetryAfter: 2 * time.Second}, 429, "2"},
		{"429 without Retry-After", Fault{Status: 429}, 429, ""},
		{"503", Fault{Status: 503}, 503, ""},
		{"500 with a message", Fault{Status: 500, Message: "boom"}, 500, ""},
		{"dropped connection", Fault{Drop: true}, 0, ""},
		{"latency only", Fault{Latency: 30 * time.Millisecond}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := en.srv.InjectFault(ops.MachinesShow, tc.fault)
			defer en.srv.RemoveFault(id)
			start := time.Now()
			var meta call.Meta
			err := show(call.Capture(&meta))
			if got := codeOf(err); got != tc.wantCode {
				t.Fatalf("status %d, want %d (%v)", got, tc.wantCode, err)
			}
			if tc.wantCode == 0 && err == nil {
				t.Fatal("dropped connection: no error")
			}
			if tc.fault.Latency > 0 && time.Since(start) < tc.fault.Latency {
				t.Errorf("answered in %s, before the latency", time.Since(start))
			}
			if tc.fault.Message != "" && errorText(err) != tc.fault.Message {
				t.Errorf("message %q", errorText(err))
			}
			if tc.wantCode >= 400 {
				if meta.StatusCode != tc.wantCode || meta.Header("Retry-After") != tc.wantRetryAfter {
					t.Errorf("answer: %d Retry-After %q, want %d %q", meta.StatusCode, meta.Header("Retry-After"), tc.wantCode, tc.wantRetryAfter)
				}
				if meta.RequestID() == "" {
					t.Error("fault answer without fly-request-id")
				}
			}
		})
	}
	if err := show(); err != nil {
		t.Errorf("after the faults are removed: %v", err)
	}
}

// TestFaultAmbiguousCreate: a 408 after the effect was applied. The
// client sees a failure, yet the Machine exists, so a blind retry would
// create a second one.
func TestFaultAmbiguousCreate(t *testing.T) {
	en := newEnv(t)
	id := en.srv.InjectFault(ops.MachinesCreate, Fault{Status: http.StatusRequestTimeout, AfterApply: true, Times: 1})
	req := createBody("nginx")
	req.Name = "only-once"
	_, err := en.c.Machines.Create(en.ctx, testApp, req)
	if codeOf(err) != 408 || !strings.HasPrefix(errorText(err), "deadline_exceeded") {
		t.Fatalf("create: %v, want 408", err)
	}
	if en.srv.FaultHits(id) != 1 {
		t.Errorf("fault hits: %d", en.srv.FaultHits(id))
	}
	list, err := en.c.Machines.List(en.ctx, testApp, nil)
	if err != nil || len(list) != 1 || list[0].Name != "only-once" {
		t.Fatalf("after the ambiguous create: %v %v", list, err)
	}
	en.waitFor(list[0].ID, stateStarted)
	// The retry a careful client makes finds the name taken.
	_, err = en.c.Machines.Create(en.ctx, testApp, req)
	if codeOf(err) != 422 {
		t.Errorf("retry: %v, want 422 name taken", err)
	}
}

func TestCapacityErrors(t *testing.T) {
	en := newEnv(t, WithCapacityError("ams"))
	create := func(region string) error {
		req := createBody("nginx")
		req.Region = region
		_, err := en.c.Machines.Create(en.ctx, testApp, req)
		return err
	}
	full := func(t *testing.T, err error) {
		t.Helper()
		b := errorBody(err)
		if codeOf(err) != 412 || b == nil || b.Status != models.MainStatusCodeInsufficientCapacity || !strings.Contains(b.Error, "insufficient resources") {
			t.Errorf("got %v %+v, want 412 insufficient_capacity", err, b)
		}
	}
	full(t, create("ams"))
	if err := create("ord"); err != nil {
		t.Errorf("ord: %v", errText(err))
	}
	en.srv.SetRegionCapacity("ams", true)
	if err := create("ams"); err != nil {
		t.Errorf("ams after capacity returned: %v", errText(err))
	}
	en.srv.SetRegionCapacity("ord", false)
	full(t, create("")) // the default region
}

func TestRateLimits(t *testing.T) {
	clock := NewFakeClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	en := newEnv(t, WithClock(clock), WithRateLimits())
	req := createBody("nginx")
	req.SkipLaunch = true
	a, b := en.create(req), en.create(req)

	get := func(id string) int {
		return rawGet(t, en.srv, "/v1/apps/"+testApp+"/machines/"+id).StatusCode
	}
	// Getting a Machine: bursts of 10, then 5 per second.
	for i := range 10 {
		if code := get(a.ID); code != 200 {
			t.Fatalf("get %d: %d", i, code)
		}
	}
	res := rawGet(t, en.srv, "/v1/apps/"+testApp+"/machines/"+a.ID)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != "1" {
		t.Fatalf("11th get: %d Retry-After %q, want 429 1", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if code := get(b.ID); code != 200 {
		t.Errorf("another machine has its own bucket: %d", code)
	}
	clock.Advance(time.Second)
	for i := range 5 {
		if code := get(a.ID); code != 200 {
			t.Fatalf("get %d after 1s: %d", i, code)
		}
	}
	if code := get(a.ID); code != 429 {
		t.Errorf("6th get after 1s: %d", code)
	}

	// Other actions: bursts of 3, then 1 per second, per action and machine.
	for i := range 3 {
		if _, err := en.do(a.ID, "cordon"); err != nil {
			t.Fatalf("cordon %d: %v", i, err)
		}
	}
	if _, err := en.do(a.ID, "cordon"); codeOf(err) != 429 {
		t.Errorf("4th cordon: %v, want 429", err)
	}
	if _, err := en.do(a.ID, "uncordon"); err != nil {
		t.Errorf("another action has its own bucket: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := en.do(a.ID, "cordon"); err != nil {
		t.Errorf("cordon after 1s: %v", err)
	}

	// Switched off, nothing is limited.
	en.srv.SetRateLimits(false)
	for i := range 30 {
		if code := get(a.ID); code != 200 {
			t.Fatalf("get %d with limits off: %d", i, code)
		}
	}
}

func TestNoRateLimitsByDefault(t *testing.T) {
	en := newEnv(t)
	req := createBody("nginx")
	req.SkipLaunch = true
	m := en.create(req)
	for i := range 30 {
		if _, err := en.do(m.ID, "cordon"); err != nil {
			t.Fatalf("cordon %d: %v", i, err)
		}
	}
}
