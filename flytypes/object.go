package flytypes

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
)

// Object describes the JSON object of a generated model for the model's
// MarshalJSON and UnmarshalJSON. Other code has no need of it.
//
// A model decodes and encodes its fields itself, with the Decode* and
// Append* helpers of this package, and keeps an Extra beside them.
// Whatever those helpers leave alone (a value of the wrong type, a key
// matched only ignoring case, a number out of range...) makes the model
// fall back on encoding/json, whose results and errors are the reference:
// the generated code is a faster path to the same values, never a second
// meaning. encoding/json would otherwise rescan a subtree once for every
// model above it, each having its own methods.
type Object struct {
	// Model is the model's Go name, for decoding errors.
	Model string
	// Keys are the JSON keys the model's fields hold, sorted.
	Keys []string
	// Numbers decodes the numbers of the untyped (any) values a model holds
	// as json.Number, so they are written back exactly as they came.
	Numbers bool
}

// errSlow is what the decoding helpers report for anything they leave to
// encoding/json.
var errSlow = errors.New("flytypes: left to encoding/json")

// A FieldDecoder decodes the value of the member key into the field that
// holds it, reporting false if no field holds key.
type FieldDecoder func(key, value []byte) (bool, error)

// Decode decodes the JSON object data into model through field, keeping in
// extra what the fields cannot hold. fields is model converted to a type
// with the same fields and no methods, which encoding/json decodes instead
// when field reports an error. A JSON null leaves model as it is, as
// encoding/json does for a struct.
func (o *Object) Decode(data []byte, model, fields any, extra *Extra, field FieldDecoder) error {
	if isNull(data) {
		return nil
	}
	var b strings.Builder
	shadowed := false
	var ferr error
	err := members(data, func(m member[[]byte]) bool {
		key := m.key[1 : len(m.key)-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			ferr = errSlow // an escaped key: encoding/json unescapes it
			return false
		}
		held, err := field(key, m.value)
		if err != nil {
			ferr = err
			return false
		}
		switch {
		case held && !isZeroLiteral(m.value):
			return true
		case held:
			shadowed = true
		case o.holdsIgnoringCase(key):
			ferr = errSlow // encoding/json gives it to that field
			return false
		case !json.Valid(m.value):
			ferr = errSlow
			return false
		}
		keep(&b, m)
		return true
	})
	if err != nil || ferr != nil {
		return o.decodeSlow(data, model, fields, extra)
	}
	*extra = closeExtra(&b, shadowed)
	return nil
}

// decodeSlow decodes data with encoding/json, then keeps what the fields
// cannot hold.
func (o *Object) decodeSlow(data []byte, model, fields any, extra *Extra) error {
	var err error
	if o.Numbers {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		err = dec.Decode(fields)
	} else {
		err = json.Unmarshal(data, fields)
	}
	if err != nil {
		return o.nameModel(err, model, fields)
	}
	var b strings.Builder
	shadowed := false
	err = members(data, func(m member[[]byte]) bool {
		held := o.holds(m.keyText())
		if held && !isZeroLiteral(m.value) {
			return true
		}
		shadowed = shadowed || held
		keep(&b, m)
		return true
	})
	if err != nil {
		return err
	}
	*extra = closeExtra(&b, shadowed)
	return nil
}

func keep(b *strings.Builder, m member[[]byte]) {
	if b.Len() == 0 {
		b.Grow(len(m.key) + len(m.value) + 3)
		b.WriteByte('{')
	} else {
		b.WriteByte(',')
	}
	b.Write(m.key)
	b.WriteByte(':')
	b.Write(m.value)
}

func closeExtra(b *strings.Builder, shadowed bool) Extra {
	if b.Len() == 0 {
		return Extra{}
	}
	b.WriteByte('}')
	return Extra{object: b.String(), shadowed: shadowed}
}

// nameModel makes a type error name the model rather than the method-less
// type it was decoded through.
func (o *Object) nameModel(err error, model, fields any) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Struct != "" {
			te.Struct = o.Model
		}
		if te.Type == reflect.TypeOf(fields).Elem() {
			te.Type = reflect.TypeOf(model).Elem()
		}
	}
	return err
}

// End ends the object w wrote with extra's members and returns it, or the
// first error met.
func (o *Object) End(w *ObjectWriter, extra Extra) ([]byte, error) {
	if w.err != nil {
		return w.b, w.err
	}
	return o.appendExtra(w.b, w.start, extra)
}

// appendExtra ends the JSON object the model's fields were appended to
// (it began at b[start]) with extra's members. A member whose key the
// fields wrote is left out: the field's value wins.
func (o *Object) appendExtra(b []byte, start int, extra Extra) ([]byte, error) {
	if extra.object == "" {
		return append(b, '}'), nil
	}
	var written [][]byte
	if extra.shadowed {
		var store [32][]byte
		written = store[:0]
		if err := members(append(b[start:], '}'), func(m member[[]byte]) bool {
			written = append(written, m.keyText())
			return true
		}); err != nil {
			return nil, err
		}
	}
	err := members(extra.object, func(m member[string]) bool {
		if extra.shadowed && containsKey(written, m.keyText()) {
			return true
		}
		b = AppendKey(b, start, m.key)
		b = append(b, ':')
		b = append(b, m.value...)
		return true
	})
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// EncodeSlow encodes fields (the model converted to a type with the same
// fields and no methods) with encoding/json, then extra's members: what a
// model falls back on when its own encoding fails, for encoding/json's
// error.
func (o *Object) EncodeSlow(fields any, extra Extra) ([]byte, error) {
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	return o.appendExtra(b[:len(b)-1], 0, extra)
}

// holds reports whether one of the fields takes key. Like encoding/json, a
// key that matches no field exactly goes to one it matches ignoring case.
func (o *Object) holds(key []byte) bool {
	return o.holdsExactly(key) || o.holdsIgnoringCase(key)
}

func (o *Object) holdsExactly(key []byte) bool {
	lo, hi := 0, len(o.Keys)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if o.Keys[mid] < string(key) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo < len(o.Keys) && o.Keys[lo] == string(key)
}

func (o *Object) holdsIgnoringCase(key []byte) bool {
	for _, k := range o.Keys {
		if k != string(key) && bytes.EqualFold([]byte(k), key) {
			return true
		}
	}
	return false
}

func containsKey(keys [][]byte, key string) bool {
	for _, k := range keys {
		if string(k) == key {
			return true
		}
	}
	return false
}

func isNull(data []byte) bool {
	return string(bytes.TrimSpace(data)) == "null"
}
