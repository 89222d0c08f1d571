// Package flytypes holds the wire types of the Machines API that Swagger
// 2.0 cannot describe, referred to by the generated models through the
// spec's x-go-type fix-ups (gen/internal/fixup), and Extra, which every
// object model carries so that what the API sent survives a decode and an
// encode.
package flytypes

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/go-openapi/errors"
	"github.com/go-openapi/strfmt"
)

// Autostop says what the Fly proxy does with a service's idle Machines.
// The API writes it as a string ("off", "stop", "suspend"); older Machines,
// and Fly's own Go client, as a boolean: false for off, true for stop.
//
// An Autostop holds the form it was read in and writes it back the same:
// AutostopFalse and AutostopTrue are the boolean forms. Mode gives the mode
// whatever the form.
type Autostop string

// The autostop modes, and the boolean forms of the first two.
const (
	AutostopOff     Autostop = "off"
	AutostopStop    Autostop = "stop"
	AutostopSuspend Autostop = "suspend"

	AutostopFalse Autostop = "false" // written as the boolean false; means AutostopOff
	AutostopTrue  Autostop = "true"  // written as the boolean true; means AutostopStop
)

// Mode is the mode a means: AutostopOff, AutostopStop, AutostopSuspend,
// "" when unset, or a as it is if it is no known form.
func (a Autostop) Mode() Autostop {
	switch a {
	case AutostopFalse:
		return AutostopOff
	case AutostopTrue:
		return AutostopStop
	}
	return a
}

// MarshalJSON writes the boolean forms as booleans and the rest as strings.
func (a Autostop) MarshalJSON() ([]byte, error) {
	switch a {
	case AutostopFalse, AutostopTrue:
		return []byte(a), nil
	}
	return json.Marshal(string(a))
}

// UnmarshalJSON accepts a string or a boolean. The strings "true" and
// "false" are refused: they would come back out as booleans.
func (a *Autostop) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	switch string(data) {
	case "true", "false":
		*a = Autostop(data)
		return nil
	case "null":
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil || s == "true" || s == "false" {
		return fmt.Errorf("autostop: want a string or a boolean, got %s", truncate(data))
	}
	*a = Autostop(s)
	return nil
}

// Valid reports whether a is one of the known forms (or unset).
func (a Autostop) Valid() bool {
	switch a.Mode() {
	case "", AutostopOff, AutostopStop, AutostopSuspend:
		return true
	}
	return false
}

// Validate refuses an unknown form, as the generated models' validation
// does for the spec's enums.
func (a Autostop) Validate(strfmt.Registry) error {
	if a.Valid() {
		return nil
	}
	return errors.EnumFail("", "body", string(a),
		[]any{AutostopOff, AutostopStop, AutostopSuspend, AutostopFalse, AutostopTrue})
}

func truncate(b []byte) string {
	const max = 32
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
