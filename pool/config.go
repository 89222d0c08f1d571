package pool

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/models"
)

// Metadata keys the pool writes on each of its Machines.
const (
	// KeyPool names the pool a Machine belongs to.
	KeyPool = "flymachines_pool"
	// KeyGeneration is the generation of the pool's config the Machine
	// was made from: a short hash of Config.Config.
	KeyGeneration = "flymachines_pool_generation"
	// KeyJob is a short hash of the command and environment the Machine
	// last ran a job with; absent when it runs the pool's own config.
	KeyJob = "flymachines_pool_job"
	// KeyAdopted is when the process that last made or booted the Machine
	// opened the pool with its config (New), in RFC 3339: of two
	// generations, the one adopted last is the newer.
	KeyAdopted = "flymachines_pool_adopted"
)

// Defaults of Config.
const (
	DefaultIdleTimeout = 10 * time.Minute
	DefaultLeaseTTL    = 30 * time.Second
	DefaultSweepEvery  = 30 * time.Second
)

// Config describes a pool. App, Name, Config and Max are required.
type Config struct {
	// App is the Fly app the pool's Machines live in.
	App string
	// Name tells this pool's Machines from any other's in the app
	// (metadata KeyPool). Processes that use the same App and Name share
	// one pool.
	Name string
	// Config is the Machines' config: image, guest, services, env, ...
	// A Machine starts clean from it. A restart policy left unset is
	// "no", so that a job's exit stops its Machine; auto_destroy is
	// refused (the pool decides when a Machine goes). Every process of a
	// pool should use the same Config: a different one is another
	// generation (see Pool).
	Config *models.FlyMachineConfig
	// Regions are where new Machines go, in order of preference: a region
	// without capacity moves creation on to the next. Empty: the API
	// chooses.
	Regions []string
	// Min is how many Machines the pool keeps, idle or not: Sweep creates
	// Machines up to it and destroys idle ones only above it.
	Min int
	// Max bounds the pool's Machines: a claim that finds none free creates
	// one only below Max, and waits otherwise. Processes count from the
	// API's list, so concurrent creators can overshoot it briefly; the
	// sweep destroys the excess once free.
	Max int
	// IdleTimeout is how long a Machine may stay stopped, unused, before a
	// sweep destroys it while the pool is above Min (default 10 min).
	IdleTimeout time.Duration
	// LeaseTTL is the lease a claim holds and refreshes (default 30 s,
	// whole seconds): a claim whose process died ends this long after its
	// last refresh.
	LeaseTTL time.Duration
	// ReclaimAfter is how long a Machine may run without a live lease
	// before a sweep stops it and takes it back: its holder died (default
	// LeaseTTL).
	ReclaimAfter time.Duration
	// SweepEvery is how often Run and Acquire sweep the pool on their way
	// (default 30 s); Sweep sweeps at once.
	SweepEvery time.Duration
	// Holder names this process in the leases it takes, for Status and
	// for whoever finds a Machine leased (default host:pid).
	Holder string
	// Logger receives what the pool does on its own: creates, reclaims,
	// destroys, failed sweeps (default: none).
	Logger *slog.Logger
}

// ErrConfig is matched by the error New returns for a Config it refuses.
var ErrConfig = errors.New("pool: invalid config")

// normalized checks cfg and fills in its defaults. cfg.Config is not
// modified.
func (cfg Config) normalized() (Config, error) {
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	if cfg.App == "" {
		bad("no App")
	}
	if cfg.Name == "" {
		bad("no Name")
	}
	switch {
	case cfg.Config == nil || cfg.Config.Image == "":
		bad("no Config with an image")
	case cfg.Config.AutoDestroy:
		bad("Config has auto_destroy: the pool destroys its Machines itself")
	}
	if cfg.Max < 1 {
		bad("Max %d: want at least 1", cfg.Max)
	}
	if cfg.Min < 0 || cfg.Min > cfg.Max {
		bad("Min %d: want 0 to Max (%d)", cfg.Min, cfg.Max)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"IdleTimeout", cfg.IdleTimeout}, {"LeaseTTL", cfg.LeaseTTL}, {"ReclaimAfter", cfg.ReclaimAfter}, {"SweepEvery", cfg.SweepEvery}} {
		if d.v < 0 {
			bad("%s %s is negative", d.name, d.v)
		}
	}
	if cfg.LeaseTTL > 0 && cfg.LeaseTTL < time.Second {
		bad("LeaseTTL %s: want at least 1s", cfg.LeaseTTL)
	}
	if len(problems) > 0 {
		return cfg, fmt.Errorf("%w: %w", ErrConfig, errors.Join(problems...))
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	cfg.LeaseTTL = cfg.LeaseTTL.Round(time.Second)
	if cfg.ReclaimAfter == 0 {
		cfg.ReclaimAfter = cfg.LeaseTTL
	}
	if cfg.SweepEvery == 0 {
		cfg.SweepEvery = DefaultSweepEvery
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = host + ":" + strconv.Itoa(os.Getpid())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg, nil
}

// template is the pool's Machine config, ready to copy: the user's with
// the restart policy defaulted and the pool's metadata, as JSON.
type template struct {
	generation string
	json       []byte
}

func newTemplate(name string, conf *models.FlyMachineConfig, adopted time.Time) (*template, error) {
	base, err := cloneConfig(conf)
	if err != nil {
		return nil, err
	}
	if base.Restart == nil {
		base.Restart = &models.FlyMachineRestart{Policy: models.FlyMachineRestartPolicyNo}
	}
	// The generation is the config as the user gave it (restart included),
	// without any metadata the pool itself writes.
	for _, k := range []string{KeyPool, KeyGeneration, KeyJob, KeyAdopted, flymachines.LaunchIDKey} {
		delete(base.Metadata, k)
	}
	if len(base.Metadata) == 0 {
		base.Metadata = nil // no metadata, written or not, is one generation
	}
	canonical, err := json.Marshal(base)
	if err != nil {
		return nil, fmt.Errorf("%w: config: %w", ErrConfig, err)
	}
	sum := sha256.Sum256(canonical)
	gen := hex.EncodeToString(sum[:5])
	if base.Metadata == nil {
		base.Metadata = map[string]string{}
	}
	base.Metadata[KeyPool], base.Metadata[KeyGeneration] = name, gen
	base.Metadata[KeyAdopted] = adopted.UTC().Format(time.RFC3339)
	b, err := json.Marshal(base)
	if err != nil {
		return nil, fmt.Errorf("%w: config: %w", ErrConfig, err)
	}
	return &template{generation: gen, json: b}, nil
}

// config is a fresh copy of the pool's config, with job's command and
// environment when it has any, and the metadata of a Machine that has some
// already (keep) under the pool's own.
func (t *template) config(job Job, keep map[string]string) *models.FlyMachineConfig {
	var c models.FlyMachineConfig
	if err := json.Unmarshal(t.json, &c); err != nil {
		panic("pool: the config template does not read back: " + err.Error()) // it was written by Marshal
	}
	own := c.Metadata
	c.Metadata = maps.Clone(keep)
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	maps.Copy(c.Metadata, own)
	delete(c.Metadata, KeyJob)
	if key := job.key(); key != "" {
		c.Metadata[KeyJob] = key
		if len(job.Cmd) > 0 {
			if c.Init == nil {
				c.Init = &models.FlyMachineInit{}
			}
			c.Init.Cmd = append([]string(nil), job.Cmd...)
		}
		if len(job.Env) > 0 {
			if c.Env == nil {
				c.Env = map[string]string{}
			}
			maps.Copy(c.Env, job.Env)
		}
	}
	return &c
}

func cloneConfig(c *models.FlyMachineConfig) (*models.FlyMachineConfig, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("%w: config: %w", ErrConfig, err)
	}
	var out models.FlyMachineConfig
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%w: config: %w", ErrConfig, err)
	}
	return &out, nil
}
