package flytest

import (
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// Behavior is what runs inside a Machine: whether it boots, and when and
// how its main process ends without being asked. Build one with
// RunUntilStopped, ExitAfter, OOMAfter or FailToStart and attach it with
// WithBehavior or WithImageBehavior.
//
// When the process ends on its own, the Machine records an "exit" event
// and config.restart decides what follows: "no" stops it, "always" boots
// it again, and "on-failure" (the default, with 10 retries unless
// max_retries says otherwise) boots it again after a non-zero exit or an
// OOM kill. A Machine that stays stopped and has config.auto_destroy is
// then destroyed.
type Behavior struct {
	kind    behaviorKind
	after   time.Duration
	code    int
	message string
}

type behaviorKind int

const (
	runsUntilStopped behaviorKind = iota
	exitsAfter
	oomAfter
	failsToStart
)

// RunUntilStopped runs until the Machine is stopped: a long-running
// service. It is the default.
func RunUntilStopped() Behavior { return Behavior{kind: runsUntilStopped} }

// ExitAfter ends the main process with exit code code, d after each boot:
// a job. ExitAfter(d, 0) is a job that succeeds.
func ExitAfter(d time.Duration, code int) Behavior {
	return Behavior{kind: exitsAfter, after: max(d, 0), code: code}
}

// OOMAfter has the kernel kill the main process for lack of memory, d
// after each boot (exit code 137, signal 9, oom_killed true).
func OOMAfter(d time.Duration) Behavior { return Behavior{kind: oomAfter, after: max(d, 0)} }

// FailToStart makes every boot fail with msg: the Machine goes to state
// "failed" and stays there until a user starts or updates it.
func FailToStart(msg string) Behavior { return Behavior{kind: failsToStart, message: msg} }

// behaviorRule maps Machines to what runs inside them.
type behaviorRule struct {
	match func(*models.FlyMachineConfig) bool
	b     Behavior
}

// WithBehavior runs b in every Machine whose config match accepts. Rules
// are tried in the order given and the first match wins; Machines no rule
// matches RunUntilStopped. match is called at each boot with the current
// config, under the emulator's lock: it must neither modify the config
// nor call the emulator.
func WithBehavior(match func(*models.FlyMachineConfig) bool, b Behavior) Option {
	return func(c *config) {
		if match != nil {
			c.behaviors = append(c.behaviors, behaviorRule{match: match, b: b})
		}
	}
}

// WithImageBehavior runs b in every Machine whose config.image is image.
func WithImageBehavior(image string, b Behavior) Option {
	return WithBehavior(func(c *models.FlyMachineConfig) bool { return c.Image == image }, b)
}

// behaviorFor picks the behaviour of a Machine with config c.
func (e *Emulator) behaviorFor(c *models.FlyMachineConfig) Behavior {
	for _, rule := range e.cfg.behaviors {
		if rule.match(c) {
			return rule.b
		}
	}
	return RunUntilStopped()
}

// exit describes how the process ends on its own at now, or reports false
// for a process that runs until stopped.
func (b Behavior) exit(now time.Time) (exitEvent, bool) {
	switch b.kind {
	case exitsAfter:
		return newExit(now, b.code, -1), true
	case oomAfter:
		x := newExit(now, 137, 9)
		x.OOMKilled = true
		return x, true
	}
	return exitEvent{}, false
}
