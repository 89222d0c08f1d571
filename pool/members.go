package pool

import (
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/models"
)

// What the pool reads of a Machine, from a list or a lookup.

// metadataOf is the Machine's metadata: from its config, or from the
// incomplete config a summary or an unreachable host gives.
func metadataOf(m *models.Machine) map[string]string {
	if m.Config != nil && m.Config.Metadata != nil {
		return m.Config.Metadata
	}
	if m.IncompleteConfig != nil {
		return m.IncompleteConfig.Metadata
	}
	return nil
}

// memberOf reports whether m is a Machine of the pool named name: its own
// metadata says so, not only the list's filter.
func memberOf(m *models.Machine, name string) bool {
	return m != nil && m.ID != "" && metadataOf(m)[KeyPool] == name
}

func generationOf(m *models.Machine) string { return metadataOf(m)[KeyGeneration] }

func jobOf(m *models.Machine) string { return metadataOf(m)[KeyJob] }

// gone reports a Machine that is destroyed or on its way.
func gone(m *models.Machine) bool {
	return m.State == flymachines.StateDestroyed || m.State == "destroying"
}

// resting reports a Machine that is down and can be booted: a free one,
// if no one holds its lease.
func resting(m *models.Machine) bool {
	return m.State == flymachines.StateStopped || m.State == flymachines.StateSuspended
}

// leased reports a lease on m that the list or lookup showed live at now.
// A list that does not show leases (include_leases ignored) shows none:
// the lease is still the lock, taking it is what decides.
func leased(m *models.Machine, now time.Time) bool {
	return m.Lease != nil && m.Lease.ExpiresAt > now.Unix()
}

// updatedAt is when the Machine last changed state (the API's
// updated_at), zero if unreadable.
func updatedAt(m *models.Machine) time.Time { return parseTime(m.UpdatedAt) }

func createdAt(m *models.Machine) time.Time { return parseTime(m.CreatedAt) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// newestEvent is the newest of the events a lookup of m carries, to tell
// whether something happened to it since an earlier lookup.
func newestEvent(m *models.Machine) eventMark {
	var best eventMark
	for _, ev := range m.Events {
		if ev != nil && ev.Timestamp >= best.at {
			best = eventMark{at: ev.Timestamp, typ: ev.Type, status: ev.Status}
		}
	}
	return best
}

type eventMark struct {
	at          int64
	typ, status string
}
