package flytypes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Signal is a Unix signal as Machines_signal takes it: a name such as
// "SIGTERM", or a number such as 9. The spec declares names only, but
// Fly's own client sends numbers (fly-go's flaps Kill sends {"signal":9})
// and the API accepts both. A Signal goes on the wire as it was made:
// SignalNumber(9) as the number 9, "SIGKILL" as the string.
type Signal string

// The signals a Machine's main process can be sent by name.
const (
	SIGHUP  Signal = "SIGHUP"
	SIGINT  Signal = "SIGINT"
	SIGQUIT Signal = "SIGQUIT"
	SIGKILL Signal = "SIGKILL"
	SIGUSR1 Signal = "SIGUSR1"
	SIGUSR2 Signal = "SIGUSR2"
	SIGTERM Signal = "SIGTERM"
)

// signalNumbers are the Linux numbers of the signals the API names.
var signalNumbers = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6,
	"SIGFPE": 8, "SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12,
	"SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15,
}

// maxSignal is the highest Linux signal number (SIGRTMAX).
const maxSignal = 64

// SignalNumber is signal n in its numeric wire form.
func SignalNumber(n int) Signal { return Signal(strconv.Itoa(n)) }

// Number is the signal's Linux number, for a name or a number alike; ok is
// false for anything else.
func (s Signal) Number() (n int, ok bool) {
	if n, err := strconv.Atoi(string(s)); err == nil {
		return n, n >= 1 && n <= maxSignal
	}
	n, ok = signalNumbers[strings.ToUpper(string(s))]
	return n, ok
}

// Valid reports whether s names a signal (or is unset).
func (s Signal) Valid() bool {
	if s == "" {
		return true
	}
	_, ok := s.Number()
	return ok
}

// MarshalJSON writes a numeric signal as a JSON number and a name as a
// string.
func (s Signal) MarshalJSON() ([]byte, error) {
	if n, err := strconv.Atoi(string(s)); err == nil {
		return []byte(strconv.Itoa(n)), nil
	}
	return json.Marshal(string(s))
}

// UnmarshalJSON accepts a string or an integer.
func (s *Signal) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if len(data) > 0 && data[0] != '"' {
		n, err := strconv.Atoi(string(data))
		if err != nil {
			return fmt.Errorf("signal: want a name or an integer, got %s", truncate(data))
		}
		*s = SignalNumber(n)
		return nil
	}
	var name string
	if err := json.Unmarshal(data, &name); err != nil {
		return fmt.Errorf("signal: want a name or an integer, got %s", truncate(data))
	}
	*s = Signal(name)
	return nil
}
