package flymachines_test

import (
	"errors"
	"net/http"
	"strings"
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
