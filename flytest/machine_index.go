package flytest

import (
	"slices"
	"sort"
)

// An app indexes its Machines three ways, so no request costs more as the
// app grows than what it answers: by id (machines), in creation order
// (order: a list walks it from its cursor, found by binary search), and by
// name (names: a create checks name_taken with one lookup). Call all of
// these with e.mu held.

// addMachine indexes a new Machine. Sequence numbers only grow, so
// appending keeps order sorted by seq.
func (a *app) addMachine(m *machine) {
	a.machines[m.id] = m
	a.order = append(a.order, m)
	a.names[m.name]++
}

// nameTaken reports whether a Machine that is not destroyed has name.
func (a *app) nameTaken(name string) bool { return a.names[name] > 0 }

// rename gives m a new name.
func (a *app) rename(m *machine, name string) {
	a.releaseName(m.name)
	m.name = name
	a.names[name]++
}

// releaseName drops one holder of name: a Machine was destroyed or renamed.
func (a *app) releaseName(name string) {
	if a.names[name] <= 1 {
		delete(a.names, name)
		return
	}
	a.names[name]--
}

// forget drops a destroyed Machine from the app. Its entry in order stays
// until forgotten entries are half of order; then one pass drops them
// all, so forgetting costs O(1) amortized.
func (a *app) forget(m *machine) {
	if a.machines[m.id] == m {
		delete(a.machines, m.id)
	}
	m.forgotten = true
	a.forgotten++
	if a.forgotten > len(a.order)/2 {
		a.order = slices.DeleteFunc(a.order, func(x *machine) bool { return x.forgotten })
		a.forgotten = 0
	}
}

// firstAfter returns the index in order of the first Machine created after
// sequence seq, counting the Machines the search looks at in *visits.
func (a *app) firstAfter(seq int64, visits *int64) int {
	return sort.Search(len(a.order), func(i int) bool {
		*visits++
		return a.order[i].seq > seq
	})
}
