package flytest

import "time"

// state is everything the emulator remembers. It is guarded by Emulator.mu.
type state struct {
	apps     map[string]*app // by name
	postgres map[string]*pgCluster
	nextNum  int64
}

func newState() *state {
	return &state{apps: map[string]*app{}, postgres: map[string]*pgCluster{}}
}

// app is one Fly App and the resources that belong to it.
type app struct {
	id, name, org  string
	network        string
	num            int64
	createdAt      time.Time
	idempotencyKey string

	machines   map[string]*machine // by id
	volumes    map[string]*volume  // by id
	secrets    map[string]*secret  // by name
	secretKeys map[string]*secretKey
	certs      map[string]*certificate // by hostname
	ips        []*ipAssignment
}

func (s *state) newNum() int64 {
	s.nextNum++
	return s.nextNum
}

// closeWaiters wakes every blocked wait so it can end when the emulator closes.
func (s *state) closeWaiters() {
	for _, a := range s.apps {
		for _, m := range a.machines {
			m.closeWaiters()
		}
	}
}
