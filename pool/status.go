package pool

import (
	"context"
	"fmt"
	"slices"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/models"
)

// Status is the pool as one list of the API showed it.
type Status struct {
	App, Name  string
	Generation string // this Pool's
	At         time.Time

	Machines     []MachineStatus // oldest first
	Free         int             // resting, of this generation, not leased
	Busy         int             // leased, or up without a lease
	ByState      map[string]int
	ByGeneration map[string]int
}

// MachineStatus is one Machine of the pool.
type MachineStatus struct {
	ID, Region, State string
	Generation        string
	Current           bool // of this Pool's generation
	Free              bool
	// HeldBy describes the lease on it (for a claim, "pool NAME held by
	// HOLDER"), or names its owner; "" when not leased.
	HeldBy       string
	LeaseExpires time.Time
	Job          string // KeyJob: a hash of the last job's command and env
	CreatedAt    time.Time
	UpdatedAt    time.Time // its last change of state: idle since, when free
}

// Status lists the pool and says what each Machine is doing and who holds
// it.
func (p *Pool) Status(ctx context.Context) (*Status, error) {
	s, err := p.list(ctx, p.seqNow(), 0)
	if err != nil {
		return nil, fmt.Errorf("pool %s: %w", p.cfg.Name, err)
	}
	ms := slices.Clone(s.machines)
	slices.SortFunc(ms, byAge)
	st := &Status{App: p.cfg.App, Name: p.cfg.Name, Generation: p.tmpl.generation, At: s.at,
		ByState: map[string]int{}, ByGeneration: map[string]int{}}
	for _, m := range ms {
		if gone(m) {
			continue
		}
		ms := machineStatus(m, p.tmpl.generation, s.at)
		st.Machines = append(st.Machines, ms)
		st.ByState[m.State]++
		st.ByGeneration[ms.Generation]++
		switch {
		case ms.Free:
			st.Free++
		case ms.HeldBy != "" || !resting(m) && m.State != flymachines.StateFailed:
			st.Busy++
		}
	}
	return st, nil
}

func machineStatus(m *models.Machine, gen string, now time.Time) MachineStatus {
	ms := MachineStatus{
		ID: m.ID, Region: m.Region, State: m.State,
		Generation: generationOf(m), Job: jobOf(m),
		CreatedAt: createdAt(m), UpdatedAt: updatedAt(m),
	}
	ms.Current = ms.Generation == gen
	if leased(m, now) {
		ms.HeldBy = m.Lease.Description
		if ms.HeldBy == "" {
			ms.HeldBy = m.Lease.Owner
		}
		if ms.HeldBy == "" {
			ms.HeldBy = "unknown holder"
		}
		ms.LeaseExpires = time.Unix(m.Lease.ExpiresAt, 0)
	}
	ms.Free = ms.Current && resting(m) && ms.HeldBy == ""
	return ms
}
