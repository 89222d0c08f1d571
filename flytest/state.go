package flytest

import "time"

// state is everything the emulator remembers. It is guarded by Emulator.mu.
type state struct {
	apps     map[string]*app // by name
	postgres map[string]*pgCluster
	nextNum  int64
	nextSeq  int64 // orders Machines and events; never reused
}

func newState() *state {
	return &state{apps: map[string]*app{}, postgres: map[string]*pgCluster{}}
}

// app is one Fly App and the resources that belong to it.
type app struct {
	id, name, org  string
	network        string
	role           string // app_role_id at create: "remote-docker-builder", "postgres_cluster"
	num            int64
	createdAt      time.Time
	idempotencyKey string

	machines   map[string]*machine // by id
	volumes    map[string]*volume  // by id
	secrets    map[string]*secret  // by name
	secretsVer int64               // version of secrets and secret keys together
	secretKeys map[string]*secretKey
	certs      map[string]*certificate // by hostname
	ips        []*ipAssignment

	destroyed []*machine // destroyed Machines, oldest first, for pruning
}

func (s *state) newNum() int64 {
	s.nextNum++
	return s.nextNum
}

// newSeq returns the next value of the emulator-wide sequence that orders
// Machines (list cursors) and events (wait's from_event_id).
func (s *state) newSeq() int64 {
	s.nextSeq++
	return s.nextSeq
}

// closeWaiters wakes every blocked wait so it can end when the emulator closes.
func (s *state) closeWaiters() {
	for _, a := range s.apps {
		for _, m := range a.machines {
			m.closeWaiters()
		}
	}
}
