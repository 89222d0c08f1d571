package flytest

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flymachines/flymachines-go/client/ops"
)

// Fly's published Machines API limits: each action is limited per Machine
// (or per app, for actions on an app) to 1 request per second with bursts
// of 3, except getting a Machine (the operations the facts table puts in
// RateClass get_machine): 5 per second with bursts of 10.
const (
	actionRate  = 1.0
	actionBurst = 3
	getRate     = 5.0
	getBurst    = 10
)

// maxBuckets bounds the limiter's memory; past it, full buckets (which
// behave exactly like absent ones) are dropped.
const maxBuckets = 10000

// rateLimiter is a set of token buckets on the emulator clock.
type rateLimiter struct {
	mu      sync.Mutex
	on      bool
	clock   Clock
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
	rate   float64
	burst  float64
}

func newRateLimiter(clock Clock, on bool) *rateLimiter {
	return &rateLimiter{on: on, clock: clock, buckets: map[string]*bucket{}}
}

// SetRateLimits switches Fly's rate limits on or off (see WithRateLimits).
// Switching them on starts every bucket full.
func (e *Emulator) SetRateLimits(on bool) {
	l := e.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = on
	clear(l.buckets)
}

// rateLimit enforces the limits, if on. Past them it has answered 429 with
// Retry-After and returns false.
func (e *Emulator) rateLimit(o ops.Op, w http.ResponseWriter, r *http.Request) bool {
	op := o.ID
	key, rate, burst := limitKey(o, r)
	rate *= e.cfg.rateScale
	ok, wait := e.limiter.take(key, rate, burst)
	if ok {
		return true
	}
	secs := int(math.Ceil(wait.Seconds()))
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	writeError(w, http.StatusTooManyRequests, "", "rate limit exceeded: "+op+" allows "+
		strconv.FormatFloat(rate, 'f', -1, 64)+" requests per second with bursts of "+strconv.Itoa(burst))
	return false
}

// limitKey names the bucket a request draws from: the action and the
// Machine it acts on, else the app, else the other path parameters.
func limitKey(op ops.Op, r *http.Request) (string, float64, int) {
	rate, burst := actionRate, actionBurst
	if op.RateClass == "get_machine" { // getting one Machine is limited apart
		rate, burst = getRate, getBurst
	}
	var b strings.Builder
	b.WriteString(op.ID)
	for _, p := range [...]string{"app_name", "machine_id", "org_slug", "volume_id", "postgres_cluster_id"} {
		if v := r.PathValue(p); v != "" {
			b.WriteString("/" + v)
		}
	}
	return b.String(), rate, burst
}

// take draws one token from the bucket key, or says how long until one is
// available.
func (l *rateLimiter) take(key string, rate float64, burst int) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.on {
		return true, 0
	}
	now := l.clock.Now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: float64(burst), last: now, rate: rate, burst: float64(burst)}
		l.buckets[key] = b
	}
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
		b.last = now
	}
}

// sweep drops buckets that have refilled: they hold no information.
func (l *rateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		b.refill(now)
		if b.tokens >= b.burst {
			delete(l.buckets, k)
		}
	}
}
