package flytypes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"strings"
)

// Extra is what a model keeps of a JSON object beyond its fields, exactly
// as it was sent:
//   - the members whose keys none of the fields holds: what a newer API
//     added, or what the spec never described;
//   - the members a field cannot tell from an absent key: a null, false, 0
//     or "" (the field holds its zero value, which is never written).
//
// The model writes them back after its fields, so what the API sent
// survives a decode and an encode: a read-modify-write update never drops
// a key the client does not know, and never turns a null the API sent into
// nothing. A member whose key a field also holds is written only while that
// field is empty, so setting the field wins.
//
// The zero Extra is empty. Extra is comparable, so models stay comparable.
type Extra struct {
	// object holds the members as one JSON object, in the order they came;
	// "" when there are none.
	object string
	// shadowed says that a member may share its key with a field: such a
	// member is written only when the field was not.
	shadowed bool
}

// Len is the number of members.
func (e Extra) Len() int {
	n := 0
	_ = members(e.object, func(member[string]) bool { n++; return true })
	return n
}

// Lookup returns the value of the member key as it was sent.
func (e Extra) Lookup(key string) (json.RawMessage, bool) {
	for k, v := range e.All() {
		if k == key {
			return v, true
		}
	}
	return nil, false
}

// All yields each member's key and value, in the order they came.
func (e Extra) All() iter.Seq2[string, json.RawMessage] {
	return func(yield func(string, json.RawMessage) bool) {
		_ = members(e.object, func(m member[string]) bool {
			return yield(m.keyText(), json.RawMessage(m.value))
		})
	}
}

// Set adds the member key with the given JSON value, replacing one of the
// same key: a way to send what the models do not describe yet. If one of
// the model's fields holds key, the member is written only while that
// field is empty.
func (e *Extra) Set(key string, value json.RawMessage) error {
	var compact bytes.Buffer
	if err := json.Compact(&compact, value); err != nil {
		return fmt.Errorf("flytypes: value of %q: %w", key, err)
	}
	k, err := json.Marshal(key)
	if err != nil {
		return err
	}
	e.Delete(key)
	var b strings.Builder
	if e.object == "" {
		b.WriteString("{")
	} else {
		b.WriteString(e.object[:len(e.object)-1])
		b.WriteString(",")
	}
	b.Write(k)
	b.WriteString(":")
	b.Write(compact.Bytes())
	b.WriteString("}")
	e.object, e.shadowed = b.String(), true
	return nil
}

// Delete removes the member key, so it is no longer written.
func (e *Extra) Delete(key string) {
	if e.object == "" {
		return
	}
	var b strings.Builder
	kept := 0
	_ = members(e.object, func(m member[string]) bool {
		if m.keyText() == key {
			return true
		}
		if kept == 0 {
			b.WriteString("{")
		} else {
			b.WriteString(",")
		}
		b.WriteString(m.key)
		b.WriteString(":")
		b.WriteString(m.value)
		kept++
		return true
	})
	if kept == 0 {
		*e = Extra{}
		return
	}
	b.WriteString("}")
	e.object = b.String()
}

// String returns the members as a JSON object ("{}" when empty).
func (e Extra) String() string {
	if e.object == "" {
		return "{}"
	}
	return e.object
}

// IsZero reports whether e has no members.
func (e Extra) IsZero() bool { return e.object == "" }
