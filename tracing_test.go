package flymachines_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/ops"
	"github.com/flymachines/flymachines-go/flytest"
)

// tracedFacade is a client of srv that records its spans in memory.
func tracedFacade(t *testing.T, srv *memEmu, opts ...flymachines.Option) (*flymachines.Client, *tracetest.InMemoryExporter) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	return newFacade(t, srv, append([]flymachines.Option{flymachines.WithTracerProvider(tp)}, opts...)...), exp
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes {
		m[kv.Key] = kv.Value
	}
	return m
}

// spanNamed is the one span called name.
func spanNamed(t *testing.T, exp *tracetest.InMemoryExporter, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans named %s, want 1 (of %d spans)", len(found), name, len(exp.GetSpans()))
	}
	return found[0]
}

// noToken fails if any span holds the token anywhere: name, attributes,
// events, status.
func noToken(t *testing.T, exp *tracetest.InMemoryExporter) {
	t.Helper()
	for _, s := range exp.GetSpans() {
		texts := []string{s.Name, s.Status.Description}
		for _, kv := range s.Attributes {
			texts = append(texts, kv.Value.Emit())
		}
		for _, ev := range s.Events {
			texts = append(texts, ev.Name)
			for _, kv := range ev.Attributes {
				texts = append(texts, kv.Value.Emit())
			}
		}
		for _, txt := range texts {
			if strings.Contains(txt, emuToken) || strings.Contains(txt, emuToken[4:20]) {
				t.Errorf("span %s holds the token: %q", s.Name, txt)
			}
		}
	}
}

// TestTracingOneSpanPerCall: each API call is one client span named by its
// operation, with the app, the Machine, the attempts, the status and the
// request id; the span of a helper's calls nests under the caller's.
func TestTracingOneSpanPerCall(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newEmu(t)
		c, exp := tracedFacade(t, srv)
		createApp(t, c, emuApp)
		m := stoppedMachine(t, c)
		exp.Reset()

		ctx, parent := sdktrace.NewTracerProvider().Tracer("test").Start(testCtx(t, 10*time.Second), "caller")
		if _, err := c.Machines.Show(ctx, emuApp, m.ID, nil); err != nil {
			t.Fatal(err)
		}
		parent.End()
		s := spanNamed(t, exp, ops.MachinesShow)
		if s.SpanKind != trace.SpanKindClient {
			t.Errorf("kind %v, want client", s.SpanKind)
		}
		if s.Parent.SpanID() != parent.SpanContext().SpanID() {
			t.Error("the call's span is not a child of the caller's")
		}
		a := attrs(s)
		for key, want := range map[attribute.Key]string{
			"flymachines.operation": ops.MachinesShow, "fly.app": emuApp, "fly.machine": m.ID,
		} {
			if a[key].AsString() != want {
				t.Errorf("%s = %q, want %q", key, a[key].Emit(), want)
			}
		}
		if a["flymachines.attempts"].AsInt64() != 1 || a["http.response.status_code"].AsInt64() != http.StatusOK {
			t.Errorf("attempts %s, status %s", a["flymachines.attempts"].Emit(), a["http.response.status_code"].Emit())
		}
		if a["fly.request_id"].AsString() == "" {
			t.Error("no fly.request_id")
		}
		if s.Status.Code == codes.Error {
			t.Errorf("a success has status %v", s.Status)
		}
		noToken(t, exp)
	})
}

// TestTracingRetriesAndFailures: a retried call is one span with a retry
// event per retry and its attempt count; a failed call's span has an error
// status, and nothing in either holds the token.
func TestTracingRetriesAndFailures(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newEmu(t)
		c, exp := tracedFacade(t, srv)
		createApp(t, c, emuApp)
		m := stoppedMachine(t, c)
		srv.InjectFault(ops.MachinesShow, flytest.Fault{Status: http.StatusServiceUnavailable, Times: 2,
			Message: "upstream echoed " + emuToken})
		exp.Reset()
		if _, err := c.Machines.Show(testCtx(t, time.Minute), emuApp, m.ID, nil); err != nil {
			t.Fatal(err)
		}
		s := spanNamed(t, exp, ops.MachinesShow)
		retries := 0
		for _, ev := range s.Events {
			if ev.Name == "retry" {
				retries++
			}
		}
		if retries != 2 || attrs(s)["flymachines.attempts"].AsInt64() != 3 {
			t.Errorf("%d retry events, attempts %s; want 2 and 3", retries, attrs(s)["flymachines.attempts"].Emit())
		}

		exp.Reset()
		_, err := c.Machines.Show(testCtx(t, time.Minute), emuApp, "nope", nil)
		if !errors.Is(err, flymachines.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
		s = spanNamed(t, exp, ops.MachinesShow)
		if s.Status.Code != codes.Error || attrs(s)["http.response.status_code"].AsInt64() != http.StatusNotFound {
			t.Errorf("status %v, HTTP %s", s.Status, attrs(s)["http.response.status_code"].Emit())
		}
		noToken(t, exp)
	})
}

// TestTracingRateLimitWaits: a call held back by the client-side rate
// limit has the wait as an event of its span.
func TestTracingRateLimitWaits(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		srv := newEmu(t)
		c, exp := tracedFacade(t, srv, flymachines.WithRateLimits(flymachines.RateLimits{
			Default: flymachines.RateLimit{Rate: 1, Burst: 1}, GetMachine: flymachines.RateLimit{Rate: 1, Burst: 1},
		}))
		createApp(t, c, emuApp)
		m := stoppedMachine(t, c)
		exp.Reset()
		for range 2 {
			if _, err := c.Machines.Show(testCtx(t, time.Minute), emuApp, m.ID, nil); err != nil {
				t.Fatal(err)
			}
		}
		var waits []int64
		for _, s := range exp.GetSpans() {
			for _, ev := range s.Events {
				if ev.Name == "rate_limit.wait" {
					for _, kv := range ev.Attributes {
						if kv.Key == "wait_ms" {
							waits = append(waits, kv.Value.AsInt64())
						}
					}
				}
			}
		}
		if len(waits) != 1 || waits[0] != 1000 {
			t.Errorf("rate-limit waits %v ms, want one of 1000", waits)
		}
	})
}

// TestTracingEveryCallEndsItsSpanOnce: the span of a call ends once
// however the call ends: when the caller's context is cancelled, and when
// something under the call panics (a caller's RoundTripper, say) or calls
// runtime.Goexit and the caller carries on; a span left open is never
// exported. The span of a call that did not return says so. The server's
// request id, a text it controls, is cleaned before it is an attribute.
func TestTracingEveryCallEndsItsSpanOnce(t *testing.T) {
	t.Parallel()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	var behaviour atomic.Value // "panic", "goexit", "hostile", else cancel the call and wait for its end
	var cancel context.CancelFunc
	rt := roundTrip(func(r *http.Request) (*http.Response, error) {
		switch behaviour.Load() {
		case "panic":
			panic("a caller's RoundTripper panicked")
		case "goexit":
			runtime.Goexit()
		case "hostile":
			h := http.Header{"Content-Type": {"application/json"}, "Fly-Request-Id": {"req\x1b[31m\u202e" + emuToken + strings.Repeat("x", 500)}}
			return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(strings.NewReader(`{"id":"m1"}`)), Request: r}, nil
		}
		cancel()
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	c, err := flymachines.New(flymachines.WithToken(emuToken), flymachines.WithBaseURL("http://api.flytest.internal"),
		flymachines.WithHTTPClient(&http.Client{Transport: rt}), flymachines.WithTracerProvider(tp), flymachines.WithoutRetries())
	if err != nil {
		t.Fatal(err)
	}
	show := func(ctx context.Context) error {
		_, err := c.Machines.Show(ctx, "app", "m1", nil)
		return err
	}

	behaviour.Store("hang")
	var ctx context.Context
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	if err := show(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}

	behaviour.Store("panic")
	func() {
		defer func() {
			if p := recover(); p == nil {
				t.Error("the RoundTripper's panic did not reach the caller")
			}
		}()
		_ = show(context.Background())
	}()

	behaviour.Store("goexit")
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = show(context.Background())
	}()
	<-done

	behaviour.Store("hostile")
	if err := show(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := exp.GetSpans()
	if len(spans) != 4 {
		t.Fatalf("%d spans ended, want 4 (one per call)", len(spans))
	}
	for i, s := range spans[:3] {
		if s.Status.Code != codes.Error {
			t.Errorf("span %d: status %v, want an error", i, s.Status)
		}
	}
	for _, s := range spans[1:3] {
		if !strings.Contains(s.Status.Description, "did not return") {
			t.Errorf("the span of a call that did not return says %q", s.Status.Description)
		}
	}
	id := attrs(spans[3])["fly.request_id"].AsString()
	if strings.ContainsAny(id, "\x1b\u202e") || len(id) > 200 || !strings.HasPrefix(id, "req") {
		t.Errorf("fly.request_id = %q: not cleaned", id)
	}
	noToken(t, exp)
}
