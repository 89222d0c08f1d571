package flytypes

import (
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The encoding helpers of the generated models' MarshalJSON. They append
// one JSON value each, the same value encoding/json writes (not always
// the same bytes: encoding/json reformats what a MarshalJSON returns
// anyway, HTML escaping included).

// AppendKey appends a member's key (quoted, and followed by a colon if
// the caller wants) to the object begun at b[start], after a comma if it
// is not the first member.
func AppendKey(b []byte, start int, key string) []byte {
	if len(b) > start+1 {
		b = append(b, ',')
	}
	return append(b, key...)
}

// AppendString appends s as a JSON string.
func AppendString[T ~string](b []byte, s T) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				const hex = "0123456789abcdef"
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:]))
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendInt appends an integer.
func AppendInt[T ~int64 | ~int32 | ~int](b []byte, n T) []byte {
	return strconv.AppendInt(b, int64(n), 10)
}

// AppendFloat appends a float as encoding/json writes it: no exponent
// from 1e-6 to 1e21, the shortest form that reads back the same. NaN and
// infinities are refused, as encoding/json refuses them.
func AppendFloat[T ~float64 | ~float32](b []byte, f T) ([]byte, error) {
	bits := 64
	if unsafe.Sizeof(f) == 4 {
		bits = 32
	}
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return b, errSlow
	}
	format := byte('f')
	if abs := math.Abs(x); abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	b = strconv.AppendFloat(b, x, format, -1, bits)
	if format == 'e' {
		// A two-digit negative exponent loses its leading zero: 1e-07 is 1e-7.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, nil
}

// FloatSet reports whether a float field is written: any value but 0
// (-0 included, as encoding/json's omitzero has it).
func FloatSet(f float64) bool { return math.Float64bits(f) != 0 }

// AppendBool appends a boolean.
func AppendBool[T ~bool](b []byte, v T) []byte {
	return strconv.AppendBool(b, bool(v))
}

// AppendStrings appends a JSON array of strings (null for nil).
func AppendStrings[T ~string](b []byte, s []T) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, v := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, v)
	}
	return append(b, ']')
}

// AppendStringMap appends a JSON object of strings, keys sorted as
// encoding/json sorts them (null for nil).
func AppendStringMap[T ~string](b []byte, m map[string]T) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		b = AppendString(b, m[k])
	}
	return append(b, '}')
}

// AppendNullableStringMap appends a JSON object of strings and nulls.
func AppendNullableStringMap(b []byte, m map[string]*string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		if v := m[k]; v == nil {
			b = append(b, "null"...)
		} else {
			b = AppendString(b, *v)
		}
	}
	return append(b, '}')
}

// AppendObject appends a model with its own appender (null for nil).
func AppendObject[T any](b []byte, p *T, appendJSON func(*T, []byte) ([]byte, error)) ([]byte, error) {
	if p == nil {
		return append(b, "null"...), nil
	}
	return appendJSON(p, b)
}

// AppendObjects appends a JSON array of models (null for nil, and for a
// nil element).
func AppendObjects[T any](b []byte, s []*T, appendJSON func(*T, []byte) ([]byte, error)) ([]byte, error) {
	if s == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i, p := range s {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = AppendObject(b, p, appendJSON); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// AppendObjectMap appends a JSON object of models, keys sorted.
func AppendObjectMap[T any](b []byte, m map[string]T, appendJSON func(*T, []byte) ([]byte, error)) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		v := m[k]
		var err error
		if b, err = appendJSON(&v, b); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// AppendValue appends any other value with encoding/json.
func AppendValue(b []byte, v any) ([]byte, error) {
	out, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, out...), nil
}

// IsZero reports whether encoding/json's omitzero leaves v out: by its
// IsZero method if it has one, else if it is its type's zero value.
func IsZero(v any) bool {
	if z, ok := v.(isZeroer); ok {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return true
		}
		return z.IsZero()
	}
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return true
	}
	if reflect.PointerTo(rv.Type()).Implements(isZeroerType) {
		p := reflect.New(rv.Type())
		p.Elem().Set(rv)
		return p.Interface().(isZeroer).IsZero()
	}
	return rv.IsZero()
}

type isZeroer interface{ IsZero() bool }

var isZeroerType = reflect.TypeFor[isZeroer]()

// An ObjectWriter appends a model's JSON object, member by member: the
// generated appendJSON methods write each field set with the Write*
// functions, then end the object with Object.End. The first error stops
// the writing and is reported by End.
type ObjectWriter struct {
	b     []byte
	start int
	err   error
}

// NewObjectWriter begins an object at the end of b.
func NewObjectWriter(b []byte) ObjectWriter {
	return ObjectWriter{b: append(b, '{'), start: len(b)}
}

// key appends a member's key (quoted, with its colon), and reports
// whether to go on.
func (w *ObjectWriter) key(key string) bool {
	if w.err != nil {
		return false
	}
	w.b = AppendKey(w.b, w.start, key)
	return true
}

func (w *ObjectWriter) fail(b []byte, err error) {
	w.b = b
	if err != nil {
		w.err = err
	}
}

// WriteString writes a string member.
func WriteString[T ~string](w *ObjectWriter, key string, v T) {
	if w.key(key) {
		w.b = AppendString(w.b, v)
	}
}

// WriteInt writes an integer member.
func WriteInt[T ~int64 | ~int32 | ~int](w *ObjectWriter, key string, v T) {
	if w.key(key) {
		w.b = AppendInt(w.b, v)
	}
}

// WriteFloat writes a number member.
func WriteFloat[T ~float64 | ~float32](w *ObjectWriter, key string, v T) {
	if w.key(key) {
		w.fail(AppendFloat(w.b, v))
	}
}

// WriteBool writes a boolean member.
func WriteBool[T ~bool](w *ObjectWriter, key string, v T) {
	if w.key(key) {
		w.b = AppendBool(w.b, v)
	}
}

// WritePointer writes the value p points to with appendValue (one of the
// Append* functions), or null.
func WritePointer[T any](w *ObjectWriter, key string, p *T, appendValue func([]byte, T) []byte) {
	if !w.key(key) {
		return
	}
	if p == nil {
		w.b = append(w.b, "null"...)
		return
	}
	w.b = appendValue(w.b, *p)
}

// WriteStrings writes an array of strings.
func WriteStrings[T ~string](w *ObjectWriter, key string, v []T) {
	if w.key(key) {
		w.b = AppendStrings(w.b, v)
	}
}

// WriteStringMap writes an object of strings.
func WriteStringMap[T ~string](w *ObjectWriter, key string, v map[string]T) {
	if w.key(key) {
		w.b = AppendStringMap(w.b, v)
	}
}

// WriteNullableStringMap writes an object of strings and nulls.
func WriteNullableStringMap(w *ObjectWriter, key string, v map[string]*string) {
	if w.key(key) {
		w.b = AppendNullableStringMap(w.b, v)
	}
}

// WriteObject writes a model with its appender.
func WriteObject[T any](w *ObjectWriter, key string, p *T, appendJSON func(*T, []byte) ([]byte, error)) {
	if w.key(key) {
		w.fail(AppendObject(w.b, p, appendJSON))
	}
}

// WriteObjects writes an array of models.
func WriteObjects[T any](w *ObjectWriter, key string, v []*T, appendJSON func(*T, []byte) ([]byte, error)) {
	if w.key(key) {
		w.fail(AppendObjects(w.b, v, appendJSON))
	}
}

// WriteObjectMap writes an object of models.
func WriteObjectMap[T any](w *ObjectWriter, key string, v map[string]T, appendJSON func(*T, []byte) ([]byte, error)) {
	if w.key(key) {
		w.fail(AppendObjectMap(w.b, v, appendJSON))
	}
}

// WriteValue writes any other value with encoding/json.
func WriteValue(w *ObjectWriter, key string, v any) {
	if w.key(key) {
		w.fail(AppendValue(w.b, v))
	}
}

// sortedKeys returns m's keys in the order encoding/json writes them.
func sortedKeys[T any](m map[string]T) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
