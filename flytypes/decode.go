package flytypes

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// The decoding helpers of the generated models' UnmarshalJSON. Each
// decodes one JSON value into a field as encoding/json would, for the
// common cases only: anything else (a value of another type, a number that
// does not fit, a string with escapes...) they report as an error, and the
// model decodes itself with encoding/json instead. A JSON null sets
// pointers, slices and maps to nil and leaves other fields as they are.

// DecodeString decodes a JSON string.
func DecodeString[T ~string](v []byte, p *T) error {
	if isNullValue(v) {
		return nil
	}
	s, err := decodeString(v)
	if err != nil {
		return err
	}
	*p = T(s)
	return nil
}

// DecodeInt decodes a JSON integer that fits T.
func DecodeInt[T ~int64 | ~int32 | ~int](v []byte, p *T) error {
	if isNullValue(v) {
		return nil
	}
	n, err := decodeInt(v)
	if err != nil || int64(T(n)) != n {
		return errSlow
	}
	*p = T(n)
	return nil
}

// DecodeFloat decodes a JSON number that fits T.
func DecodeFloat[T ~float64 | ~float32](v []byte, p *T) error {
	if isNullValue(v) {
		return nil
	}
	if !isNumber(v) {
		return errSlow
	}
	bits := 64
	if unsafe.Sizeof(*p) == 4 {
		bits = 32
	}
	f, err := strconv.ParseFloat(string(v), bits)
	if err != nil {
		return errSlow
	}
	*p = T(f)
	return nil
}

// DecodeBool decodes a JSON boolean.
func DecodeBool[T ~bool](v []byte, p *T) error {
	switch string(v) {
	case "true":
		*p = true
	case "false":
		*p = false
	case "null":
	default:
		return errSlow
	}
	return nil
}

// DecodePointer decodes a value into *p, allocating it if nil, through
// decode (one of the helpers above); null sets *p to nil.
func DecodePointer[T any](v []byte, p **T, decode func([]byte, *T) error) error {
	if isNullValue(v) {
		*p = nil
		return nil
	}
	if *p == nil {
		*p = new(T)
	}
	return decode(v, *p)
}

// DecodeStrings decodes a JSON array of strings, reusing the slice's
// storage as encoding/json does.
func DecodeStrings[T ~string](v []byte, p *[]T) error {
	if isNullValue(v) {
		*p = nil
		return nil
	}
	s := (*p)[:0]
	if s == nil {
		s = []T{}
	}
	err := elements(v, func(e []byte) error {
		str, err := decodeString(e)
		if err != nil {
			return err
		}
		s = append(s, T(str))
		return nil
	})
	if err != nil {
		return errSlow
	}
	*p = s
	return nil
}

// DecodeStringMap decodes a JSON object of strings into the map (made if
// nil), as encoding/json does.
func DecodeStringMap[T ~string](v []byte, p *map[string]T) error {
	return decodeMap(v, p, func(e []byte, dst *T) error {
		s, err := decodeString(e)
		*dst = T(s)
		return err
	})
}

// DecodeNullableStringMap decodes a JSON object of strings and nulls.
func DecodeNullableStringMap(v []byte, p *map[string]*string) error {
	return decodeMap(v, p, func(e []byte, dst **string) error {
		if isNullValue(e) {
			return nil
		}
		s, err := decodeString(e)
		*dst = &s
		return err
	})
}

// DecodeObject decodes a JSON object into *p (allocated if nil) with the
// model's UnmarshalJSON; null sets *p to nil.
func DecodeObject[T any](v []byte, p **T, unmarshal func(*T, []byte) error) error {
	if isNullValue(v) {
		*p = nil
		return nil
	}
	if v[0] != '{' {
		return errSlow
	}
	if *p == nil {
		*p = new(T)
	}
	return unmarshal(*p, v)
}

// DecodeObjects decodes a JSON array of objects (or nulls), reusing the
// slice's storage and the objects in it as encoding/json does.
func DecodeObjects[T any](v []byte, p *[]*T, unmarshal func(*T, []byte) error) error {
	if isNullValue(v) {
		*p = nil
		return nil
	}
	s := (*p)[:0]
	if s == nil {
		s = []*T{}
	}
	err := elements(v, func(e []byte) error {
		var elem *T
		if len(s) < cap(s) {
			elem = s[:len(s)+1][len(s)]
		}
		if err := DecodeObject(e, &elem, unmarshal); err != nil {
			return err
		}
		s = append(s, elem)
		return nil
	})
	if err != nil {
		return errSlow
	}
	*p = s
	return nil
}

// DecodeObjectMap decodes a JSON object of objects into the map (made if
// nil), each value decoded afresh as encoding/json does.
func DecodeObjectMap[T any](v []byte, p *map[string]T, unmarshal func(*T, []byte) error) error {
	return decodeMap(v, p, func(e []byte, dst *T) error {
		if isNullValue(e) {
			return nil
		}
		if e[0] != '{' {
			return errSlow
		}
		return unmarshal(dst, e)
	})
}

// DecodeValue decodes any other value: with its own UnmarshalJSON if it
// has one (called for null too, as encoding/json calls it), else with
// encoding/json, numbers as json.Number if numbers is set.
func DecodeValue(v []byte, p any, numbers bool) error {
	if u, ok := p.(json.Unmarshaler); ok {
		return u.UnmarshalJSON(v)
	}
	if !numbers {
		return json.Unmarshal(v, p)
	}
	dec := json.NewDecoder(bytes.NewReader(v))
	dec.UseNumber()
	return dec.Decode(p)
}

func decodeMap[T any](v []byte, p *map[string]T, decode func([]byte, *T) error) error {
	if isNullValue(v) {
		*p = nil
		return nil
	}
	if v[0] != '{' {
		return errSlow
	}
	m := *p
	if m == nil {
		m = map[string]T{}
	}
	var ferr error
	err := members(v, func(e member[[]byte]) bool {
		key, err := decodeString(e.key)
		if err != nil {
			ferr = err
			return false
		}
		var elem T
		if err := decode(e.value, &elem); err != nil {
			ferr = err
			return false
		}
		m[key] = elem
		return true
	})
	if err != nil || ferr != nil {
		return errSlow
	}
	*p = m
	return nil
}

// elements calls each for each element of the JSON array v.
func elements(v []byte, each func([]byte) error) error {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return errSlow
	}
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return trailing(v, i+1)
	}
	for {
		end := skipValue(v, i)
		if end < 0 {
			return errSlow
		}
		if err := each(v[i:end]); err != nil {
			return err
		}
		i = skipSpace(v, end)
		if i >= len(v) {
			return errSlow
		}
		switch v[i] {
		case ',':
			i = skipSpace(v, i+1)
		case ']':
			return trailing(v, i+1)
		default:
			return errSlow
		}
	}
}

func isNullValue(v []byte) bool { return string(v) == "null" }

// decodeString decodes a JSON string: itself when it is plain (no escapes,
// control characters or invalid UTF-8), with encoding/json otherwise.
func decodeString(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", errSlow
	}
	body := v[1 : len(v)-1]
	plain := utf8.Valid(body)
	for _, c := range body {
		if c < 0x20 || c == '"' || c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return string(body), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errSlow
	}
	return s, nil
}

// decodeInt decodes a JSON integer (no fraction, no exponent) that fits
// an int64.
func decodeInt(v []byte) (int64, error) {
	neg := len(v) > 0 && v[0] == '-'
	digits := v
	if neg {
		digits = v[1:]
	}
	if len(digits) == 0 || len(digits) > 19 || (digits[0] == '0' && len(digits) > 1) {
		return 0, errSlow
	}
	var n uint64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, errSlow
		}
		n = n*10 + uint64(c-'0')
	}
	switch {
	case !neg && n <= 1<<63-1:
		return int64(n), nil
	case neg && n <= 1<<63:
		return int64(-n), nil
	}
	return 0, errSlow
}

// isNumber reports whether v is a JSON number.
func isNumber(v []byte) bool {
	i := 0
	if i < len(v) && v[i] == '-' {
		i++
	}
	switch {
	case i < len(v) && v[i] == '0':
		i++
	case i < len(v) && v[i] >= '1' && v[i] <= '9':
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(v) && v[i] == '.' {
		i++
		start := i
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(v) && (v[i] == 'e' || v[i] == 'E') {
		i++
		if i < len(v) && (v[i] == '+' || v[i] == '-') {
			i++
		}
		start := i
		for i < len(v) && v[i] >= '0' && v[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	return i == len(v)
}
