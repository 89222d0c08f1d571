package flymachines

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

const (
	machineStarting  = `{"id":"m1","state":"starting","instance_id":"01INST"}`
	machineStarted   = `{"id":"m1","state":"started","instance_id":"01INST"}`
	machineDestroyed = `{"id":"m1","state":"destroyed","instance_id":"01INST"}`
	machineFailed    = `{"id":"m1","state":"failed","instance_id":"01INST"}`
	notYet           = `{"error":"deadline_exceeded: timeout waiting for machine"}`
	notFound         = `{"error":"machine not found"}`
)

func TestWaitAcrossSeveral408s(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.wait.replies = []reply{
			{status: 408, body: notYet}, {status: 408, body: notYet}, {status: 408, body: notYet},
			{status: 200, body: `{"ok":true,"state":"started","event_id":"ev9"}`},
		}
		f.show.replies = []reply{{status: 200, body: machineStarting}}
		c := f.client(t, nil)

		res, err := c.WaitForState(ctxTimeout(t, 5*time.Minute), "app", "m1", []string{StateStarted})
		if err != nil {
			t.Fatal(err)
		}
		if res.State != StateStarted || res.EventID != "ev9" {
			t.Errorf("result = %+v", res)
		}
		wantEq(t, "wait calls", f.wait.count(), 4)
		wantEq(t, "show calls", f.show.count(), 3) // one check after each 408
		for _, q := range f.wait.seen() {
			if !slices.Equal(q["state"], []string{"started", "failed"}) || q.Get("timeout") != "60" || q.Has("instance_id") {
				t.Errorf("wait query = %v", q)
			}
		}
	})
}

func TestWaitQueryOnTheWire(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.wait.replies = []reply{{status: 200, body: `{"ok":true}`}} // ok, whichever state was asked
		f.show.replies = []reply{{status: 200, body: machineStarted}}
		c := f.client(t, nil)

		// A state that needs a version: looked up first.
		if _, err := c.WaitForState(ctxTimeout(t, 5*time.Second), "app", "m1", []string{StateStopped, StateSuspended}); err != nil {
			t.Fatal(err)
		}
		q := f.wait.seen()[0]
		if !slices.Equal(q["state"], []string{"stopped", "suspended", "failed"}) || q.Get("instance_id") != "01INST" {
			t.Errorf("wait query = %v", q)
		}
		wantEq(t, "show calls", f.show.count(), 1)

		// Given a version, no lookup; the call timeout is honoured.
		err := c.WaitStopped(ctxTimeout(t, 5*time.Minute), "app", "m1", WithInstanceID("01GIVEN"), WithWaitCallTimeout(15*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		q = f.wait.seen()[1]
		if q.Get("instance_id") != "01GIVEN" || q.Get("timeout") != "15" {
			t.Errorf("wait query = %v", q)
		}
		wantEq(t, "show calls", f.show.count(), 1)

		// The call's wait fits in what is left of the context...
		if err := c.WaitStarted(ctxTimeout(t, 20*time.Second), "app", "m1"); err != nil {
			t.Fatal(err)
		}
		if got := f.wait.seen()[2].Get("timeout"); got != "19" && got != "20" {
			t.Errorf("timeout = %s, want the context's 20s", got)
		}
		// ... and under a client-level http.Client.Timeout.
		c2 := f.client(t, &http.Client{Timeout: 30 * time.Second})
		if err := c2.WaitStarted(ctxTimeout(t, 5*time.Minute), "app", "m1"); err != nil {
			t.Fatal(err)
		}
		if got := f.wait.seen()[3].Get("timeout"); got != "20" {
			t.Errorf("timeout = %s, want 30s less the margin", got)
		}
	})
}

// TestWaitHTTPTimeoutExceedsWaitTimeout: the server holds the call longer
// than the wait timeout it was given (as a slow network would make it
// look); the call's HTTP timeout has a margin, so the answer arrives.
func TestWaitHTTPTimeoutExceedsWaitTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.wait.replies = []reply{{status: 200, body: `{"ok":true,"state":"started"}`, holdFor: true, delay: 700 * time.Millisecond}}
		c := f.client(t, nil)
		if err := c.WaitStarted(ctxTimeout(t, 10*time.Second), "app", "m1", WithWaitCallTimeout(time.Second)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWaitMachineDestroyedMeanwhile(t *testing.T) {
	t.Parallel()
	cases := map[string][]reply{
		"state destroyed":  {{status: 200, body: machineDestroyed}},
		"state destroying": {{status: 200, body: `{"id":"m1","state":"destroying"}`}},
		"vanished":         {{status: 200, body: machineStarting}, {status: 404, body: notFound}},
	}
	for name, shows := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := &fakeMachine{}
				f.wait.replies = []reply{{status: 408, body: notYet}}
				f.show.replies = shows
				c := f.client(t, nil)
				_, err := c.WaitForState(ctxTimeout(t, 10*time.Second), "app", "m1", []string{StateStarted})
				if !errors.Is(err, ErrMachineDestroyed) {
					t.Fatalf("err = %v, want ErrMachineDestroyed", err)
				}
				if _, ok := errors.AsType[*WaitError](err); !ok {
					t.Errorf("err = %T", err)
				}
				if errors.Is(err, ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("destroyed reported as a timeout: %v", err)
				}
			})
		})
	}
}

// TestWaitDestroyedByTheWaitCall: the wait itself answers 404 for a Machine
// seen before.
func TestWaitDestroyedByTheWaitCall(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.wait.replies = []reply{{status: 408, body: notYet}, {status: 404, body: notFound}}
		f.show.replies = []reply{{status: 200, body: machineStarting}}
		c := f.client(t, nil)
		_, err := c.WaitForState(ctxTimeout(t, 10*time.Second), "app", "m1", []string{StateStarted})
		if !errors.Is(err, ErrMachineDestroyed) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrMachineDestroyed and ErrNotFound", err)
		}
	})
}

func TestWaitMachineFailed(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.wait.replies = []reply{{status: 408, body: notYet}}
		f.show.replies = []reply{{status: 200, body: machineFailed}}
		c := f.client(t, nil)
		_, err := c.WaitForState(ctxTimeout(t, 10*time.Second), "app", "m1", []string{StateStarted})
		if !errors.Is(err, ErrMachineFailed) {
			t.Fatalf("err = %v, want ErrMachineFailed", err)
		}
		if we, ok := errors.AsType[*WaitError](err); !ok || we.LastState != "failed" {
			t.Errorf("err = %#v", err)
		}
	})
}

func TestWaitForDestroyedMachineAlreadyGone(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.show.replies = []reply{{status: 404, body: notFound}}
		c := f.client(t, nil)
		if err := c.WaitDestroyed(ctxTimeout(t, 5*time.Second), "app", "m1"); err != nil {
			t.Fatal(err)
		}
		wantEq(t, "wait calls", f.wait.count(), 0)
	})
}

func TestWaitBadRequest(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.wait.replies = []reply{{status: 400, body: `{"error":"invalid_argument: bad instance_id"}`}}
		f.show.replies = []reply{{status: 200, body: machineStarted}}
		c := f.client(t, nil)
		_, err := c.WaitForState(ctxTimeout(t, 5*time.Second), "app", "m1", []string{StateStopped}, WithInstanceID("nope"))
		if !errors.Is(err, ErrInvalidArgument) {
			t.Fatalf("err = %v, want ErrInvalidArgument", err)
		}
		if ae, ok := errors.AsType[*APIError](err); !ok || ae.StatusCode != 400 {
			t.Errorf("err = %v", err)
		}
		if errors.Is(err, ErrMachineDestroyed) || errors.Is(err, ErrMachineFailed) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestWaitArgumentsCheckedFirst(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		c := f.client(t, nil)
		ctx := ctxTimeout(t, 5*time.Second)
		for name, call := range map[string]func() error{
			"no state":      func() error { _, err := c.WaitForState(ctx, "app", "m1", nil); return err },
			"unknown state": func() error { _, err := c.WaitForState(ctx, "app", "m1", []string{"running"}); return err },
			"empty app":     func() error { return c.WaitStarted(ctx, "", "m1") },
			"empty machine": func() error { return c.WaitStopped(ctx, "app", "") },
			"call timeout":  func() error { return c.WaitStarted(ctx, "app", "m1", WithWaitCallTimeout(2*time.Minute)) },
		} {
			err := call()
			if !errors.Is(err, ErrInvalidArgument) {
				t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
			}
		}
		if f.wait.count()+f.show.count() != 0 {
			t.Error("a request was sent")
		}
	})
}

func TestWaitCancelledMidWait(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.wait.replies = []reply{{status: 408, body: notYet, holdFor: true}}
		c := f.client(t, nil)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)

		start := time.Now()
		_, err := c.WaitForState(ctx, "app", "m1", []string{StateStarted})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if errors.Is(err, ErrTimeout) {
			t.Errorf("a cancellation reported as a timeout: %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("returned after %s", d)
		}
		wantEq(t, "wait calls", f.wait.count(), 1)
	})
}

func TestWaitDeadline(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.wait.replies = []reply{{status: 408, body: notYet, holdFor: true}}
		f.show.replies = []reply{{status: 200, body: machineStarting}}
		c := f.client(t, nil)

		start := time.Now()
		_, err := c.WaitForState(ctxTimeout(t, 1500*time.Millisecond), "app", "m1", []string{StateStarted})
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want DeadlineExceeded and ErrTimeout", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("returned after %s", d)
		}
		if n := f.wait.count(); n < 2 {
			t.Errorf("%d wait calls, want a new call after the first 408", n)
		}
	})
}

// TestWaitPace: a server that answers 408 at once does not make a busy loop.
func TestWaitPace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.wait.replies = []reply{{status: 408, body: notYet}}
		f.show.replies = []reply{{status: 200, body: machineStarting}}
		c := f.client(t, nil)
		c.waitPace = 100 * time.Millisecond
		_, err := c.WaitForState(ctxTimeout(t, 550*time.Millisecond), "app", "m1", []string{StateStarted})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
		if n := f.wait.count(); n > 7 {
			t.Errorf("%d wait calls in 550ms with a 100ms pace", n)
		}
	})
}

// TestWaitEndsWhenTheMachineFails: the wait also asks for failed, so a
// Machine that fails ends it at once with ErrMachineFailed.
func TestWaitEndsWhenTheMachineFails(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.wait.replies = []reply{{status: 200, body: `{"ok":true,"state":"failed"}`}}
		c := f.client(t, nil)
		_, err := c.WaitForState(ctxTimeout(t, 5*time.Second), "app", "m1", []string{StateStarted})
		var werr *WaitError
		if !errors.Is(err, ErrMachineFailed) || !errors.As(err, &werr) || werr.LastState != StateFailed {
			t.Errorf("err = %v, want a *WaitError matching ErrMachineFailed", err)
		}
		// Waiting for failed itself is an answer, not an error.
		if res, err := c.WaitForState(ctxTimeout(t, 5*time.Second), "app", "m1", []string{StateFailed}); err != nil || res.State != StateFailed {
			t.Errorf("waiting for failed: %v, %v", res, err)
		}
	})
}

// TestWaitAnswerThatSaysNothingIsAnError: a 200 that does not say the
// state was reached ends the wait with ErrUnexpectedAnswer, not success.
func TestWaitAnswerThatSaysNothingIsAnError(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"ok":false,"state":"stopped"}`, `{}`, `null`, ``, `{"error":"machine is busy"}`, `{"ok":true,"state":"stopped"}`} {
		t.Run(body, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f := &fakeMachine{}
				f.wait.replies = []reply{{status: 200, body: body}}
				f.show.replies = []reply{{status: 200, body: machineStarting}}
				c := f.client(t, nil)
				err := c.WaitStarted(ctxTimeout(t, 10*time.Second), "app", "m1")
				if !errors.Is(err, ErrUnexpectedAnswer) {
					t.Fatalf("err = %v, want ErrUnexpectedAnswer", err)
				}
				if _, ok := errors.AsType[*WaitError](err); !ok {
					t.Errorf("err = %T, want a *WaitError", err)
				}
			})
		})
	}
	// The show before a wait for stopped: a 200 without a Machine.
	synctest.Test(t, func(t *testing.T) {
		f := &fakeMachine{}
		f.show.replies = []reply{{status: 200, body: `{}`}}
		c := f.client(t, nil)
		if err := c.WaitStopped(ctxTimeout(t, 10*time.Second), "app", "m1"); !errors.Is(err, ErrUnexpectedAnswer) {
			t.Fatalf("err = %v, want ErrUnexpectedAnswer", err)
		}
	})
}
