package flytest

import (
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fault is a failure injected into one operation. Faults are off by default
// and deterministic: Times, Every and a seeded Rate decide which requests
// they hit.
type Fault struct {
	// Latency delays the answer (for Status or Drop faults too).
	Latency time.Duration
	// Status answers with this HTTP status instead of serving the request,
	// with body {"error": Message}. 0 serves the request normally (a
	// latency-only fault).
	Status int
	// RetryAfter, if set, is sent as a Retry-After header in whole seconds.
	RetryAfter time.Duration
	// AfterApply serves the request first, so its effect happens, and then
	// answers Status (or drops the connection) instead of the real answer:
	// the ambiguous case a client must not blindly repeat.
	AfterApply bool
	// Drop closes the connection without an answer.
	Drop bool
	// Message is the error text; a default is derived from Status.
	Message string

	// Times limits the fault to this many hits; 0 means no limit.
	Times int
	// Every hits one matching request in Every (1st, Every+1th, ...); 0 or 1
	// hits each.
	Every int
	// Rate hits a request with this probability, from the emulator's seeded
	// random source (WithSeed); 0 means always.
	Rate float64
}

// FaultID identifies an injected fault, for RemoveFault.
type FaultID int

type faultEntry struct {
	id    FaultID
	fault Fault
	seen  int // matching requests so far
	hits  int
}

type faultTable struct {
	mu     sync.Mutex
	rng    *rand.Rand
	nextID FaultID
	byOp   map[string][]*faultEntry
}

func newFaultTable(seed uint64) *faultTable {
	return &faultTable{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), byOp: map[string][]*faultEntry{}}
}

// InjectFault adds a fault to the operation with the given operationId (as
// in swagger.json, e.g. "Machines_create"), or to every operation when
// operationID is "*". Faults of one operation are tried in the order added;
// the first that hits wins.
func (e *Emulator) InjectFault(operationID string, f Fault) FaultID {
	t := e.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nextID++
	t.byOp[operationID] = append(t.byOp[operationID], &faultEntry{id: t.nextID, fault: f})
	return t.nextID
}

// RemoveFault removes one injected fault.
func (e *Emulator) RemoveFault(id FaultID) {
	t := e.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	for op, list := range t.byOp {
		for i, fe := range list {
			if fe.id == id {
				t.byOp[op] = append(list[:i:i], list[i+1:]...)
				return
			}
		}
	}
}

// ClearFaults removes every injected fault.
func (e *Emulator) ClearFaults() {
	t := e.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	t.byOp = map[string][]*faultEntry{}
}

// FaultHits reports how many requests a fault has hit so far.
func (e *Emulator) FaultHits(id FaultID) int {
	t := e.faults
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, list := range t.byOp {
		for _, fe := range list {
			if fe.id == id {
				return fe.hits
			}
		}
	}
	return 0
}

// draw picks the fault, if any, that hits this request of operation op, and
// says whether the request's effect should be applied before it.
func (t *faultTable) draw(op string) (*Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, key := range [...]string{op, "*"} {
		for _, fe := range t.byOp[key] {
			f := &fe.fault
			fe.seen++
			if f.Times > 0 && fe.hits >= f.Times {
				continue
			}
			if f.Every > 1 && (fe.seen-1)%f.Every != 0 {
				continue
			}
			if f.Rate > 0 && t.rng.Float64() >= f.Rate {
				continue
			}
			fe.hits++
			hit := *f
			return &hit, f.AfterApply
		}
	}
	return nil, false
}

// before acts out the fault ahead of the handler. It reports whether the
// request should still be served.
func (f *Fault) before(w http.ResponseWriter, r *http.Request) bool {
	if f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			return false
		}
	}
	if f.AfterApply || (f.Status == 0 && !f.Drop) {
		return true
	}
	f.fail(w)
	return false
}

// after serves the request into a discarded response, then fails it.
func (f *Fault) after(w http.ResponseWriter, r *http.Request, serve func(http.ResponseWriter)) {
	serve(discardWriter{h: http.Header{}})
	f.fail(w)
}

func (f *Fault) fail(w http.ResponseWriter) {
	if f.Drop || f.Status == 0 {
		dropConnection(w)
		return
	}
	if f.RetryAfter > 0 {
		secs := int((f.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	msg := f.Message
	if msg == "" {
		msg = faultMessage(f.Status)
	}
	writeError(w, f.Status, "", msg)
}

func faultMessage(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "rate limit exceeded"
	case http.StatusRequestTimeout:
		return "deadline_exceeded: request timed out"
	default:
		return "flytest: injected " + http.StatusText(status)
	}
}

// dropConnection closes the client's connection without a response.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	// Not hijackable (HTTP/2 or a recorder): abort the handler, which the
	// server turns into a reset stream or closed connection.
	panic(http.ErrAbortHandler)
}

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

// listLagging reports whether a Machine created recently is still out of
// lists (WithListLag). Call with e.mu held.
func (e *Emulator) listLagging(m *machine, now time.Time) bool {
	least, most := e.cfg.listLag[0], e.cfg.listLag[1]
	if most <= 0 {
		return false
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(m.id))
	lag := least + time.Duration(h.Sum64()%uint64(most-least+1))
	return now.Sub(m.createdAt) < lag
}
