package flytest

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Emulator is the Machines API emulator as an http.Handler. Use NewServer in
// tests; use New to mount it in a server of your own. It is safe for
// concurrent use.
//
// Machines move through created, starting, started, stopping, stopped,
// replacing, suspending, suspended, destroying, destroyed and failed; each
// transient state lasts the transition delay, and every state change is an
// event (Machines_list_events, newest first). Where the API leaves a
// choice open, the emulator answers:
//
//   - 412 failed_precondition for an operation the state forbids: start
//     unless stopped, suspended or failed; restart, suspend, signal, exec,
//     ps and memory unless started; destroy of a running Machine without
//     force=true or kill=true. Stop and suspend of a Machine already there
//     are a 200. Deleting an app deletes its Machines, running or not.
//   - 404 for any change to a destroyed Machine, so a repeated destroy
//     reads as done. GET still shows it, in state destroyed, for an hour.
//   - 409 "aborted: machine ID X lease currently held by OWNER, expires at
//     T" for an operation the facts table (client/ops) marks LeaseNonce,
//     sent without the nonce of the Machine's lease while one is held.
//     Other operations are not refused for a lease, save taking or
//     releasing the lease itself. Update with a stale current_version is
//     also a 409.
//   - 412 with status insufficient_capacity on create in a full region
//     (WithCapacityError, SetRegionCapacity).
//   - Update replaces the config under a new version. A running Machine
//     boots on it (or stops, with skip_launch); a stopped, suspended or
//     failed one is left stopped unless the body says skip_launch=false.
//   - Wait takes any of its states, with or without version (or
//     instance_id, which is the same value). With a version, an instance
//     replaced by an update counts as stopped, and waiting for a replaced
//     version to start is a 400. A wait that can never succeed, on a
//     destroyed Machine, is answered 412 at once. Timeouts are 408; Close
//     ends blocked waits with 503.
type Emulator struct {
	cfg config
	mux *http.ServeMux

	faults  *faultTable  // has its own lock: faults are drawn before e.mu is taken
	limiter *rateLimiter // has its own lock, for the same reason

	mu         sync.Mutex // guards everything below
	closed     bool
	st         *state
	timers     map[*time.Timer]struct{} // pending state transitions, stopped by Close
	noCapacity map[string]bool          // regions where Machines_create fails

	// encodeHook, when a test sets it, runs as an answer left to
	// answerLater is encoded.
	encodeHook func()
	runs       runLog // what ran where and when (runs.go)
}

// New returns an emulator with empty state.
func New(opts ...Option) *Emulator {
	e := &Emulator{
		cfg:    defaultConfig(),
		mux:    http.NewServeMux(),
		timers: map[*time.Timer]struct{}{},
	}
	for _, opt := range opts {
		opt(&e.cfg)
	}
	e.st = newState()
	e.faults = newFaultTable(e.cfg.seed)
	e.limiter = newRateLimiter(e.cfg.clock, e.cfg.rateLimits)
	e.noCapacity = map[string]bool{}
	for _, region := range e.cfg.noCapacity {
		e.noCapacity[region] = true
	}
	for _, rt := range routes() {
		e.mux.Handle(rt.pattern, e.pipeline(rt))
	}
	e.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "", "404 page not found")
	})
	return e
}

// ServeHTTP serves the Machines API under /v1.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("fly-request-id", newRequestID())
	e.mux.ServeHTTP(w, r)
}

// pipeline wraps a handler with what every request goes through, in the
// order the real API applies it: faults (as if from the network), auth,
// rate limits, then the operation itself.
func (e *Emulator) pipeline(rt route) http.Handler {
	id := rt.op.ID
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer recoverAs500(w, id)
		start := e.cfg.clock.Now()
		fault, apply := e.faults.draw(id)
		if fault != nil && !fault.before(w, r) {
			e.log(id, r, http.StatusTeapot, start, "fault")
			return
		}
		if !e.authorize(w, r) {
			return
		}
		if !e.rateLimit(rt.op, w, r) {
			return
		}
		r = withOp(r, rt.op)
		rec := &statusRecorder{ResponseWriter: w}
		if apply && fault != nil {
			// The ambiguous case: the effect happens, the caller hears a failure.
			fault.after(rec, r, func(w http.ResponseWriter) { rt.handler(e, w, r) })
		} else {
			rt.handler(e, rec, r)
		}
		e.log(id, r, rec.status, start, "")
	})
}

func (e *Emulator) log(op string, r *http.Request, status int, start time.Time, note string) {
	if e.cfg.logger == nil {
		return
	}
	e.cfg.logger.Debug("flytest", slog.String("op", op), slog.String("method", r.Method),
		slog.String("path", r.URL.Path), slog.Int("status", status),
		slog.Duration("took", e.cfg.clock.Now().Sub(start)), slog.String("note", note))
}

// Close stops pending state transitions and ends blocked waits (they answer
// 503). Other requests still in flight finish. Close is idempotent.
func (e *Emulator) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for t := range e.timers {
		t.Stop()
	}
	e.timers = map[*time.Timer]struct{}{}
	e.st.closeWaiters()
}

// after runs f under the emulator's lock once d has passed, unless the
// emulator was closed or the returned cancel was called first. Call it, and
// cancel, with e.mu held; then f runs at most once and never after cancel.
func (e *Emulator) after(d time.Duration, f func()) (cancel func()) {
	if e.closed {
		return func() {}
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		if _, pending := e.timers[t]; !pending {
			return
		}
		delete(e.timers, t)
		f()
	})
	e.timers[t] = struct{}{}
	return func() {
		if _, pending := e.timers[t]; pending {
			t.Stop()
			delete(e.timers, t)
		}
	}
}

// locked runs f under e.mu and sends its answer only once the lock is
// released, so a client that reads slowly never holds up the emulator. A
// big answer (a list) is built under the lock and encoded after it
// (answerLater), so other requests wait only for the building.
func (e *Emulator) locked(w http.ResponseWriter, f func(w http.ResponseWriter)) {
	var b bufferedResponse
	func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		f(&b)
	}()
	if b.encode != nil && e.encodeHook != nil {
		e.encodeHook()
	}
	b.sendTo(w)
}

// answerLater answers status with the JSON body that encode writes. Under
// locked, encode runs once the lock is released, so it must read nothing
// that changes under the lock: the answer built under it.
func answerLater(w http.ResponseWriter, status int, encode func(io.Writer) error) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if b, ok := w.(*bufferedResponse); ok {
		b.WriteHeader(status)
		b.encode = encode
		return
	}
	w.WriteHeader(status)
	sendEncoded(w, encode)
}

// sendEncoded writes a body that encode streams. The status is already
// sent, so a failure (the client went away, or a value would not encode)
// can only abort the answer: a client never gets a short body that looks
// whole.
func sendEncoded(w io.Writer, encode func(io.Writer) error) {
	if err := encode(w); err != nil {
		panic(http.ErrAbortHandler)
	}
}

// bufferedResponse holds an answer in memory until sendTo: its body, or
// what encodes it (answerLater).
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
	encode func(io.Writer) error
}

func (b *bufferedResponse) Header() http.Header {
	if b.header == nil {
		b.header = http.Header{}
	}
	return b.header
}

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// sendTo passes the answer on; one that was never written is not sent, so
// a wait can look, find nothing to say yet, and look again.
func (b *bufferedResponse) sendTo(w http.ResponseWriter) {
	if b.status == 0 && len(b.header) == 0 {
		return
	}
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	if b.encode != nil {
		sendEncoded(w, b.encode)
		return
	}
	_, _ = w.Write(b.body.Bytes())
}

func (e *Emulator) notImplemented(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotImplemented, "", "flytest: "+strings.TrimPrefix(r.Pattern, r.Method+" ")+" is not emulated yet")
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// recoverAs500 turns a bug in a handler into a 500 that names the
// operation, instead of a connection the client sees dropped. Deliberate
// aborts (dropped-connection faults) pass through.
func recoverAs500(w http.ResponseWriter, op string) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	writeError(w, http.StatusInternalServerError, "", fmt.Sprintf("flytest: %s: internal error: %v", op, v))
}
