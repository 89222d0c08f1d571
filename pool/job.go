package pool

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Job is what Run runs on a Machine of the pool: the pool's config with
// this command and environment. The zero Job runs the pool's config as it
// is.
//
// A start gives a clean Machine with the config it has, and a start takes
// no config: so a job with a command or environment of its own is applied
// with an update of the Machine (init.cmd replaced, env merged over the
// pool's, skip_launch false), which boots it. An update that keeps the
// image is about as quick as a start (nothing to fetch), but it makes a
// new Machine version each time, and Fly limits updates, like every
// action, per Machine (about one a second): a pool of N Machines runs jobs
// of their own at most about N a second. A Machine whose last job had the
// same command and environment (KeyJob) is only started, and a Machine
// that ran a job is updated back to the pool's config for the zero Job.
type Job struct {
	Cmd []string          // init.cmd; empty: the pool's
	Env map[string]string // merged over the pool's env
}

// key is a short hash of what the job changes in the pool's config, ""
// when it changes nothing: the metadata KeyJob of a Machine that last ran
// it.
func (j Job) key() string {
	if len(j.Cmd) == 0 && len(j.Env) == 0 {
		return ""
	}
	b, err := json.Marshal(struct {
		Cmd []string          `json:"cmd,omitempty"`
		Env map[string]string `json:"env,omitempty"`
	}{j.Cmd, j.Env})
	if err != nil {
		panic("pool: a job does not encode: " + err.Error()) // strings only
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:5])
}

// ErrInvalidJob is matched by the error Run returns for a job it refuses
// before anything is sent.
var ErrInvalidJob = errors.New("pool: invalid job")

func (j Job) check() error {
	for k := range j.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("%w: environment variable name %q", ErrInvalidJob, k)
		}
	}
	return nil
}
