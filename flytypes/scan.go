package flytypes

import (
	"encoding/json"
	"errors"
)

// errNotObject is what the member scanner reports for anything but a
// well-formed JSON object. The models scan only what encoding/json has
// already accepted, so it means a caller passed bytes no decoder checked.
var errNotObject = errors.New("flytypes: not a JSON object")

// text is JSON held in a string or a byte slice.
type text interface{ ~string | ~[]byte }

// member is one member of a JSON object: the key as written (with its
// quotes and escapes) and the value as written.
type member[T text] struct {
	key, value T
}

// keyText is the member's key without quotes, unescaped if it must be.
func (m member[T]) keyText() T {
	k := m.key[1 : len(m.key)-1]
	for i := 0; i < len(k); i++ {
		if k[i] == '\\' {
			var s string
			if json.Unmarshal([]byte(m.key), &s) != nil {
				return k
			}
			return T(s)
		}
	}
	return k
}

// members calls yield for each member of the JSON object in data, in
// order, until yield returns false. It reads only the structure (where
// keys and values begin and end): data is expected to be JSON that a
// decoder has accepted, and anything else gives errNotObject, never a
// panic.
func members[T text](data T, yield func(member[T]) bool) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errNotObject
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return trailing(data, i+1)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return errNotObject
		}
		end := skipString(data, i)
		if end < 0 {
			return errNotObject
		}
		key := data[i:end]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return errNotObject
		}
		i = skipSpace(data, i+1)
		end = skipValue(data, i)
		if end < 0 {
			return errNotObject
		}
		if !yield(member[T]{key: key, value: data[i:end]}) {
			return nil
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return errNotObject
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return trailing(data, i+1)
		default:
			return errNotObject
		}
	}
}

func trailing[T text](data T, i int) error {
	if skipSpace(data, i) != len(data) {
		return errNotObject
	}
	return nil
}

func skipSpace[T text](data T, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string starting at data[i] (a
// quote), or -1.
func skipString[T text](data T, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index after the value starting at data[i], or -1.
func skipValue[T text](data T, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for ; i < len(data); i++ {
			switch data[i] {
			case '"':
				end := skipString(data, i)
				if end < 0 {
					return -1
				}
				i = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return -1
	}
	start := i
	for i < len(data) {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if i == start {
				return -1
			}
			return i
		}
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// isZeroLiteral reports whether a JSON value decodes to the zero value of
// whatever scalar field receives it: null, false, "" or a number equal to
// zero (0, -0, 0.0, 0e5, ...). A field holding it is omitted on encoding,
// so the member is kept as sent.
func isZeroLiteral(v []byte) bool {
	switch string(v) {
	case "null", "false", `""`:
		return true
	}
	if len(v) == 0 || (v[0] != '-' && (v[0] < '0' || v[0] > '9')) {
		return false
	}
	for _, c := range v {
		switch {
		case c == 'e' || c == 'E':
			return true
		case c == '-' || c == '.' || c == '0':
		default:
			return false
		}
	}
	return true
}
