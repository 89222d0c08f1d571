package flytest

import (
	"log/slog"
	"time"
)

// Option configures an Emulator.
type Option func(*config)

type config struct {
	tokens          map[string]bool // accepted tokens; empty accepts any well-formed one
	clock           Clock
	transitionDelay time.Duration
	seed            uint64
	logger          *slog.Logger
	regions         []string
	defaultRegion   string
	defaultOrg      string
	rateLimits      bool
	rateScale       float64
	behaviors       []behaviorRule
	exec            ExecHandler
	noCapacity      []string          // regions where Machines_create fails
	leaseOwners     map[string]string // token -> lease owner
	listLag         [2]time.Duration  // least and most a new Machine stays out of lists
}

func defaultConfig() config {
	return config{
		clock:           realClock{},
		transitionDelay: 20 * time.Millisecond,
		rateScale:       1,
		seed:            1,
		regions:         defaultRegions,
		defaultRegion:   "ord",
		defaultOrg:      "personal",
		exec:            defaultExec,
	}
}

// WithTokens accepts only the given tokens (without their "Bearer " or
// "FlyV1 " scheme). By default any well-formed token is accepted.
func WithTokens(tokens ...string) Option {
	return func(c *config) {
		c.tokens = map[string]bool{}
		for _, t := range tokens {
			c.tokens[t] = true
		}
	}
}

// WithClock sets the clock behind timestamps and lease expiry.
func WithClock(clock Clock) Option { return func(c *config) { c.clock = clock } }

// WithTransitionDelay sets how long each transient state (created,
// starting, stopping, ...) lasts. The default is 20ms; it is never zero, so
// clients see the transient states the real API shows.
func WithTransitionDelay(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			d = time.Millisecond
		}
		c.transitionDelay = d
	}
}

// WithSeed seeds the random source behind Fault.Rate, so a faulty run can
// be replayed exactly.
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithLogger logs every request at debug level.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithDefaultRegion sets the region of Machines and volumes created without one.
func WithDefaultRegion(region string) Option { return func(c *config) { c.defaultRegion = region } }

// WithRateLimits enforces Fly's published Machines API rate limits and
// answers 429 with Retry-After past them. See SetRateLimits to switch them
// at run time, and ratelimit.go for the limits.
func WithRateLimits() Option { return func(c *config) { c.rateLimits = true } }

// WithRateScale multiplies the rates of WithRateLimits by f (bursts stay
// as published), so a test of a client's pacing can run fast: a client
// scaled by the same factor must still never see a 429.
func WithRateScale(f float64) Option {
	return func(c *config) {
		if f > 0 {
			c.rateScale = f
		}
	}
}

// WithCapacityError makes Machines_create fail in the given regions as the
// API does when a region is full: 412 with status "insufficient_capacity".
// SetRegionCapacity changes this at run time.
func WithCapacityError(regions ...string) Option {
	return func(c *config) { c.noCapacity = append(c.noCapacity, regions...) }
}

// WithExecHandler answers Machines_exec. By default the command is echoed:
// stdout is the command's words joined by spaces plus a newline, exit code 0.
func WithExecHandler(h ExecHandler) Option {
	return func(c *config) {
		if h != nil {
			c.exec = h
		}
	}
}

// WithLeaseOwner sets the lease owner reported for a token (without its
// scheme). Tokens without one get a stable owner derived from the token,
// "user-<8 hex digits>@flytest", so two tokens are two different owners.
func WithLeaseOwner(token, owner string) Option {
	return func(c *config) {
		if c.leaseOwners == nil {
			c.leaseOwners = map[string]string{}
		}
		c.leaseOwners[token] = owner
	}
}

// WithListLag makes Machine lists lag behind creates, as the API's may: a
// new Machine stays out of Machines_list for a time between least and most
// (fixed per Machine, drawn from its id), while a GET by id finds it at
// once. Clients that look a create up by listing must allow for it.
func WithListLag(least, most time.Duration) Option {
	return func(c *config) { c.listLag = [2]time.Duration{least, max(least, most)} }
}

// defaultRegions is the fixed platform region list the emulator serves.
var defaultRegions = []string{"ams", "arn", "bog", "bom", "cdg", "dfw", "ewr", "fra", "gru", "iad", "jnb", "lax", "lhr", "mad", "mia", "nrt", "ord", "otp", "phx", "qro", "scl", "sea", "sin", "sjc", "syd", "waw", "yul", "yyz"}
