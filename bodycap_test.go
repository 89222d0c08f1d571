package flymachines

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// endlessBody is a 200 whose JSON never ends: {"id":"aaaa... It counts
// what was read of it and, as a network body would, stops when the
// request's context ends (and, to spare the machine, after 1 GiB).
type endlessBody struct{ read atomic.Int64 }

func (e *endlessBody) RoundTrip(r *http.Request) (*http.Response, error) {
	body := io.MultiReader(stringsReader(`{"id":"`), readerFunc(func(p []byte) (int, error) {
		if err := r.Context().Err(); err != nil {
			return 0, err
		}
		if e.read.Load() > 1<<30 {
			return 0, errors.New("endlessBody: 1 GiB read, giving up")
		}
		for i := range p {
			p[i] = 'a'
		}
		e.read.Add(int64(len(p)))
		return len(p), nil
	}))
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(body), ContentLength: -1, Request: r}, nil
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func stringsReader(s string) io.Reader { return &stringReader{s: s} }

type stringReader struct{ s string }

func (r *stringReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	n := copy(p, r.s)
	r.s = r.s[n:]
	return n, nil
}

// TestSuccessBodyIsCapped: a 2xx body is read up to the cap and no
// further; past it the call fails with ErrResponseTooLarge (and
// ErrUnexpectedAnswer), once, without a retry.
func TestSuccessBodyIsCapped(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	body := &endlessBody{}
	c := newTestClient(t, "https://api.machines.dev", WithHTTPClient(&http.Client{Transport: body}), WithMaxResponseBytes(limit))
	_, err := callShow(t, c, "a", "m")
	var tooLarge *ResponseTooLargeError
	if !errors.Is(err, ErrResponseTooLarge) || !errors.Is(err, ErrUnexpectedAnswer) || !errors.As(err, &tooLarge) || tooLarge.Limit != limit {
		t.Fatalf("err = %v, want a *ResponseTooLargeError of %d bytes", err, limit)
	}
	if read := body.read.Load(); read > limit+64<<10 {
		t.Errorf("read %d bytes past a cap of %d", read, limit)
	}
	// Reading a whole 64 MiB takes seconds under -race; the default is
	// checked where it is set.
	if c := newTestClient(t, "https://api.machines.dev"); c.maxBody != DefaultMaxResponseBytes {
		t.Errorf("default cap %d, want DefaultMaxResponseBytes", c.maxBody)
	}
	// A body of exactly the cap is read whole.
	exact := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		js := `{"id":"` + strings.Repeat("a", limit-len(`{"id":""}`)) + `"}`
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(js)), ContentLength: int64(len(js)), Request: r}, nil
	})
	c = newTestClient(t, "https://api.machines.dev", WithHTTPClient(&http.Client{Transport: exact}), WithMaxResponseBytes(limit))
	if m, err := callShow(t, c, "a", "m"); err != nil || len(m.ID) != limit-len(`{"id":""}`) {
		t.Errorf("a body of exactly the cap: %v", err)
	}
}

// BenchmarkEndlessBody: the heap while the client reads a 200 that never
// ends, for up to 3 s (the figure in BENCHMARKS.md). Reported: the peak
// heap in MB and the MB of body read.
func BenchmarkEndlessBody(b *testing.B) {
	for b.Loop() {
		body := &endlessBody{}
		c, err := New(WithToken(testBearer), WithBaseURL("https://api.machines.dev"), WithHTTPClient(&http.Client{Transport: body}),
			WithoutRetries(), WithoutRateLimits())
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		done := make(chan error, 1)
		go func() {
			_, err := c.Machines.Show(ctx, "a", "m", nil)
			done <- err
		}()
		var peak uint64
		tick := time.NewTicker(5 * time.Millisecond)
	watch:
		for {
			select {
			case err := <-done:
				b.Logf("ended: %.80s", errText(err))
				break watch
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse-min(m.HeapInuse, base.HeapInuse))
			}
		}
		tick.Stop()
		cancel()
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(body.read.Load())/(1<<20), "read-MB")
	}
}

func errText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
