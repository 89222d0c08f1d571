package flytest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/models"
)

// Guest sizes as Fly documents them: shared CPUs take 256 MB to 2 GB of
// memory per CPU, performance CPUs 2 GB to 8 GB, in steps of 256 MB.
const (
	cpuShared      = "shared"
	cpuPerformance = "performance"
	memoryStepMB   = 256
)

var guestPresets = map[string]models.FlyMachineGuest{
	"shared-cpu-1x":   {CPUKind: cpuShared, Cpus: 1, MemoryMb: 256},
	"shared-cpu-2x":   {CPUKind: cpuShared, Cpus: 2, MemoryMb: 512},
	"shared-cpu-4x":   {CPUKind: cpuShared, Cpus: 4, MemoryMb: 1024},
	"shared-cpu-8x":   {CPUKind: cpuShared, Cpus: 8, MemoryMb: 2048},
	"performance-1x":  {CPUKind: cpuPerformance, Cpus: 1, MemoryMb: 2048},
	"performance-2x":  {CPUKind: cpuPerformance, Cpus: 2, MemoryMb: 4096},
	"performance-4x":  {CPUKind: cpuPerformance, Cpus: 4, MemoryMb: 8192},
	"performance-8x":  {CPUKind: cpuPerformance, Cpus: 8, MemoryMb: 16384},
	"performance-16x": {CPUKind: cpuPerformance, Cpus: 16, MemoryMb: 32768},
}

// machineNamePattern is what a Machine name may look like (it becomes a
// DNS label on the private network).
var machineNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// defaultMaxRetries is how often the on-failure policy restarts a Machine
// when config.restart.max_retries is not set.
const defaultMaxRetries = 10

// normalizeConfig validates a config sent by a client and fills in what the
// API fills in: the guest size, from size or the shared/1 CPU/256 MB
// default. The error is the text of a 400.
func normalizeConfig(c *models.FlyMachineConfig) error {
	// Configs also arrive outside a validated request body (copies,
	// stored versions), so they are checked here once more.
	if err := c.Validate(strfmt.Default); err != nil {
		return err
	}
	if strings.TrimSpace(c.Image) == "" {
		return fmt.Errorf("config.image is required")
	}
	if c.Guest == nil {
		size := c.Size
		if size == "" {
			size = "shared-cpu-1x"
		}
		preset, ok := guestPresets[size]
		if !ok {
			return fmt.Errorf("config.size %q is not a known preset (such as shared-cpu-1x or performance-2x)", c.Size)
		}
		c.Guest = &preset
	}
	if err := normalizeGuest(c.Guest); err != nil {
		return err
	}
	if c.Restart != nil && c.Restart.MaxRetries < 0 {
		return fmt.Errorf("config.restart.max_retries must not be negative")
	}
	for k := range c.Metadata {
		if k == "" || len(k) > 255 || strings.ContainsAny(k, " \t\r\n") {
			return fmt.Errorf("config.metadata key %q must be 1-255 characters without spaces", k)
		}
	}
	for _, s := range c.Services {
		if s != nil {
			s.Autostop = autostopAnswered(s.Autostop)
		}
	}
	return nil
}

// restartPolicy is the policy in effect for a config: on-failure with
// defaultMaxRetries unless the config says otherwise. It is not written into
// the stored config, so clients read back what they sent.
func restartPolicy(c *models.FlyMachineConfig) (policy string, maxRetries int) {
	policy, maxRetries = models.FlyMachineRestartPolicyOnDashFailure, defaultMaxRetries
	if c != nil && c.Restart != nil {
		if c.Restart.Policy != "" {
			policy = c.Restart.Policy
		}
		if c.Restart.MaxRetries > 0 {
			maxRetries = int(c.Restart.MaxRetries)
		}
	}
	return policy, maxRetries
}

// normalizeGuest fills missing guest fields and checks the combination.
func normalizeGuest(g *models.FlyMachineGuest) error {
	if g.CPUKind == "" {
		g.CPUKind = cpuShared
	}
	if g.Cpus == 0 {
		g.Cpus = 1
	}
	var minPerCPU, maxPerCPU, maxCPUs int64
	switch g.CPUKind {
	case cpuShared:
		minPerCPU, maxPerCPU, maxCPUs = 256, 2048, 8
	case cpuPerformance:
		minPerCPU, maxPerCPU, maxCPUs = 2048, 8192, 16
	default:
		return fmt.Errorf("config.guest.cpu_kind %q must be shared or performance", g.CPUKind)
	}
	switch g.Cpus {
	case 1, 2, 4, 8, 16:
	default:
		return fmt.Errorf("config.guest.cpus %d must be 1, 2, 4, 8 or 16", g.Cpus)
	}
	if g.Cpus > maxCPUs {
		return fmt.Errorf("config.guest.cpus %d is more than %d %s CPUs", g.Cpus, maxCPUs, g.CPUKind)
	}
	if g.MemoryMb == 0 {
		g.MemoryMb = minPerCPU * g.Cpus
	}
	lo, hi := minPerCPU*g.Cpus, maxPerCPU*g.Cpus
	if g.MemoryMb%memoryStepMB != 0 || g.MemoryMb < lo || g.MemoryMb > hi {
		return fmt.Errorf("config.guest.memory_mb %d must be a multiple of %d between %d and %d for %d %s CPU(s)",
			g.MemoryMb, memoryStepMB, lo, hi, g.Cpus, g.CPUKind)
	}
	return nil
}

// cloneConfig deep-copies a config, so stored versions never share maps
// or slices with a request or with each other.
func cloneConfig(c *models.FlyMachineConfig) *models.FlyMachineConfig {
	if c == nil {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic("flytest: config does not round-trip: " + err.Error())
	}
	var out models.FlyMachineConfig
	if err := json.Unmarshal(b, &out); err != nil {
		panic("flytest: config does not round-trip: " + err.Error())
	}
	return &out
}

// imageRef resolves an image reference the way the API reports it. Docker
// Hub images come from Fly's mirror; the digest is derived from the
// reference unless it carries one, so it is stable across runs.
func imageRef(image string) *models.ImageRef {
	ref := &models.ImageRef{Labels: map[string]string{}}
	rest := image
	if name, digest, ok := strings.Cut(rest, "@"); ok {
		rest, ref.Digest = name, digest
	}
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest, ref.Tag = rest[:i], rest[i+1:]
	}
	if ref.Tag == "" {
		ref.Tag = "latest"
	}
	first, remainder, hasSlash := strings.Cut(rest, "/")
	if hasSlash && (strings.ContainsAny(first, ".:") || first == "localhost") {
		ref.Registry, ref.Repository = first, remainder
	} else {
		ref.Registry, ref.Repository = "docker-hub-mirror.fly.io", rest
		if !hasSlash {
			ref.Repository = "library/" + rest
		}
	}
	if ref.Digest == "" {
		sum := sha256.Sum256([]byte(image))
		ref.Digest = "sha256:" + hex.EncodeToString(sum[:])
	}
	return ref
}
