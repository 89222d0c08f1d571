package flymachines

import (
	"container/list"
	"time"
)

// recent is a map whose entries lapse once unused for a while: the
// rate limiter's buckets and CreateMachine's launches. Entries are kept in
// the order of their last use, so forgetting lapsed ones looks only at
// the oldest end: every operation is amortised O(1), whatever the number
// of keys. It is not safe for concurrent use; its owner locks.
type recent[K comparable, V any] struct {
	entries map[K]*list.Element
	order   list.List // of *recentEntry[K, V]; most recently used at the front
	max     int       // at most this many entries (the oldest go first); 0: no bound
}

type recentEntry[K comparable, V any] struct {
	key     K
	value   V
	expires time.Time
}

func newRecent[K comparable, V any](maxEntries int) *recent[K, V] {
	return &recent[K, V]{entries: map[K]*list.Element{}, max: maxEntries}
}

// get returns the entry of k if it has not lapsed by now.
func (r *recent[K, V]) get(k K, now time.Time) (V, bool) {
	r.forget(now)
	if el, ok := r.entries[k]; ok {
		return el.Value.(*recentEntry[K, V]).value, true
	}
	var zero V
	return zero, false
}

// touch returns the entry of k, if it has not lapsed by now, making it the
// most recently used and moving its lapse to no earlier than expires.
func (r *recent[K, V]) touch(k K, expires, now time.Time) (V, bool) {
	r.forget(now)
	el, ok := r.entries[k]
	if !ok {
		var zero V
		return zero, false
	}
	e := el.Value.(*recentEntry[K, V])
	if expires.After(e.expires) {
		e.expires = expires
	}
	r.order.MoveToFront(el)
	return e.value, true
}

// put sets the entry of k, to lapse at expires, and makes it the most
// recently used.
func (r *recent[K, V]) put(k K, v V, expires, now time.Time) {
	r.forget(now)
	if el, ok := r.entries[k]; ok {
		e := el.Value.(*recentEntry[K, V])
		e.value, e.expires = v, expires
		r.order.MoveToFront(el)
		return
	}
	r.entries[k] = r.order.PushFront(&recentEntry[K, V]{key: k, value: v, expires: expires})
	if r.max > 0 && len(r.entries) > r.max {
		r.remove(r.order.Back())
	}
}

func (r *recent[K, V]) len() int { return len(r.entries) }

// forget drops lapsed entries from the least recently used end. An entry
// that lapses before a more recently used one waits for it: never dropped
// early, at worst kept a little longer.
func (r *recent[K, V]) forget(now time.Time) {
	for el := r.order.Back(); el != nil; el = r.order.Back() {
		if el.Value.(*recentEntry[K, V]).expires.After(now) {
			return
		}
		r.remove(el)
	}
}

func (r *recent[K, V]) remove(el *list.Element) {
	delete(r.entries, el.Value.(*recentEntry[K, V]).key)
	r.order.Remove(el)
}
