// Package flytypes holds the few wire types of the Machines API that Swagger
// 2.0 cannot describe. The generated models refer to them through the spec's
// x-go-type fix-ups (gen/cmd/fixspec).
package flytypes

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Autostop says what the Fly proxy does with a service's idle Machines.
// The API writes it as a string, and older Machines carry a boolean:
// true means AutostopStop and false means AutostopOff. Autostop reads
// both forms and always writes the string form.
type Autostop string

// The autostop modes.
const (
	AutostopOff     Autostop = "off"
	AutostopStop    Autostop = "stop"
	AutostopSuspend Autostop = "suspend"
)

// UnmarshalJSON accepts a string or a boolean.
func (a *Autostop) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch string(data) {
	case "true":
		*a = AutostopStop
		return nil
	case "false":
		*a = AutostopOff
		return nil
	case "null":
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("autostop: want a string or a boolean, got %s", truncate(data))
	}
	*a = Autostop(s)
	return nil
}

// Valid reports whether a is one of the known modes (or unset).
func (a Autostop) Valid() bool {
	switch a {
	case "", AutostopOff, AutostopStop, AutostopSuspend:
		return true
	}
	return false
}

func truncate(b []byte) string {
	const max = 32
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
