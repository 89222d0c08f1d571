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
	behaviors       []behaviorRule
	exec            ExecHandler
}

func defaultConfig() config {
	return config{
		clock:           realClock{},
		transitionDelay: 20 * time.Millisecond,
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
// answers 429 with Retry-After past them.
func WithRateLimits() Option { return func(c *config) { c.rateLimits = true } }

// defaultRegions is the fixed platform region list the emulator serves.
var defaultRegions = []string{"ams", "arn", "bog", "bom", "cdg", "dfw", "ewr", "fra", "gru", "iad", "jnb", "lax", "lhr", "mad", "mia", "nrt", "ord", "otp", "phx", "qro", "scl", "sea", "sin", "sjc", "syd", "waw", "yul", "yyz"}
