package flytest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// The scale benchmarks: an app of scaleMachines Machines, served in
// process (Emulator.ServeHTTP into a writer that counts the body), so
// they measure the emulator, not sockets or a client's decoding. Run them
// with -benchtime 1x for the create benchmarks; see BENCHMARKS.md.

// scaleMachines is a big platform app's Machine count.
const scaleMachines = 50_000

// countingResponse is an http.ResponseWriter that keeps the status and
// counts the body instead of storing it.
type countingResponse struct {
	header http.Header
	status int
	n      int64
}

func newCountingResponse() *countingResponse { return &countingResponse{header: http.Header{}} }

func (c *countingResponse) Header() http.Header { return c.header }

func (c *countingResponse) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
}

func (c *countingResponse) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.n += int64(len(p))
	return len(p), nil
}

// serveCounted serves one request in process and returns what it answered.
func serveCounted(e *Emulator, method, target string, body []byte) *countingResponse {
	req := httptest.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := newCountingResponse()
	e.ServeHTTP(w, req)
	return w
}

// scaleCreateBody is the body of one Machine create: a small config with
// metadata, stopped so no transitions run. name may be "".
func scaleCreateBody(tb testing.TB, name string) []byte {
	req := createBody("nginx")
	req.Name = name
	req.SkipLaunch = true
	req.Config.Metadata = map[string]string{"role": "web"}
	b, err := json.Marshal(req)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// newScaleEmulator returns an emulator with one app (testApp) and no
// Machines yet.
func newScaleEmulator(tb testing.TB) *Emulator {
	tb.Helper()
	e := New()
	tb.Cleanup(e.Close)
	body, _ := json.Marshal(&models.CreateAppRequest{Name: testApp, OrgSlug: "personal"})
	if w := serveCounted(e, http.MethodPost, "/v1/apps", body); w.status != http.StatusCreated {
		tb.Fatalf("create app: HTTP %d", w.status)
	}
	return e
}

// fillMachines creates n unnamed Machines.
func fillMachines(tb testing.TB, e *Emulator, n int) {
	tb.Helper()
	body := scaleCreateBody(tb, "")
	for i := range n {
		createScaleMachine(tb, e, i, body)
	}
}

func createScaleMachine(tb testing.TB, e *Emulator, i int, body []byte) {
	tb.Helper()
	if w := serveCounted(e, http.MethodPost, "/v1/apps/"+testApp+"/machines", body); w.status != http.StatusOK {
		tb.Fatalf("create %d: HTTP %d", i, w.status)
	}
}

// BenchmarkScaleList lists all 50k Machines in one answer. B/op is the
// emulator's allocations per list; body-B/op is the answer's size.
func BenchmarkScaleList(b *testing.B) {
	e := newScaleEmulator(b)
	fillMachines(b, e, scaleMachines)
	for _, tc := range []struct{ name, query string }{
		{"full", ""},
		{"summary", "?summary=true"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var body int64
			b.ReportAllocs()
			for b.Loop() {
				w := serveCounted(e, http.MethodGet, "/v1/apps/"+testApp+"/machines"+tc.query, nil)
				if w.status != http.StatusOK {
					b.Fatalf("list: HTTP %d", w.status)
				}
				body = w.n
			}
			b.ReportMetric(float64(body), "body-B/op")
		})
	}
}

// BenchmarkScalePaging pages through all 50k Machines at limit=100: one op
// is the whole walk, 500 pages.
func BenchmarkScalePaging(b *testing.B) {
	e := newScaleEmulator(b)
	fillMachines(b, e, scaleMachines)
	pages := 0
	b.ReportAllocs()
	for b.Loop() {
		pages = 0
		cursor := ""
		for {
			target := "/v1/apps/" + testApp + "/machines?summary=true&limit=100"
			if cursor != "" {
				target += "&cursor=" + cursor
			}
			w := serveCounted(e, http.MethodGet, target, nil)
			if w.status != http.StatusOK {
				b.Fatalf("page %d: HTTP %d", pages, w.status)
			}
			pages++
			if cursor = w.header.Get("fly-next-cursor"); cursor == "" {
				break
			}
		}
	}
	if pages != scaleMachines/100 {
		b.Fatalf("%d pages, want %d", pages, scaleMachines/100)
	}
	b.ReportMetric(float64(pages), "pages/op")
}

// BenchmarkScaleGetBehindList is how long a GET of one Machine waits when
// it arrives while a list of 50k Machines is being answered: each op
// starts a list, waits until the list holds the emulator's lock, then
// times a GET. get-ns/op is that GET's latency.
func BenchmarkScaleGetBehindList(b *testing.B) {
	e := newScaleEmulator(b)
	fillMachines(b, e, scaleMachines)
	var id string
	{
		req := httptest.NewRequest(http.MethodGet, "/v1/apps/"+testApp+"/machines?limit=1", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var ms []struct{ ID string }
		if err := json.Unmarshal(rec.Body.Bytes(), &ms); err != nil || len(ms) != 1 {
			b.Fatalf("first machine: %v %s", err, rec.Body.String())
		}
		id = ms[0].ID
	}
	var waited time.Duration
	b.ReportAllocs()
	for b.Loop() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			serveCounted(e, http.MethodGet, "/v1/apps/"+testApp+"/machines", nil)
		}()
		// Wait until the list holds the lock (or is over).
	spin:
		for e.mu.TryLock() {
			e.mu.Unlock()
			select {
			case <-done:
				break spin
			default:
				runtime.Gosched()
			}
		}
		start := time.Now()
		if w := serveCounted(e, http.MethodGet, "/v1/apps/"+testApp+"/machines/"+id, nil); w.status != http.StatusOK {
			b.Fatalf("get: HTTP %d", w.status)
		}
		waited += time.Since(start)
		<-done
	}
	b.ReportMetric(float64(waited.Nanoseconds())/float64(b.N), "get-ns/op")
}

// BenchmarkScaleCreate creates 50k Machines in a new app: one op is all
// of them (run with -benchtime 1x). creates/s is the rate.
func BenchmarkScaleCreate(b *testing.B) {
	for _, named := range []bool{false, true} {
		name := "unnamed"
		if named {
			name = "named"
		}
		b.Run(name, func(b *testing.B) {
			bodies := make([][]byte, scaleMachines)
			for i := range bodies {
				bodies[i] = scaleCreateBody(b, "")
				if named {
					bodies[i] = scaleCreateBody(b, fmt.Sprintf("m-%d", i))
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				e := New()
				body, _ := json.Marshal(&models.CreateAppRequest{Name: testApp, OrgSlug: "personal"})
				serveCounted(e, http.MethodPost, "/v1/apps", body)
				b.StartTimer()
				for i, body := range bodies {
					createScaleMachine(b, e, i, body)
				}
				b.StopTimer()
				e.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(scaleMachines*b.N)/b.Elapsed().Seconds(), "creates/s")
		})
	}
}
