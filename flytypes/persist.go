package flytypes

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/go-openapi/errors"
	"github.com/go-openapi/strfmt"
)

// PersistRootfs says whether a Machine's root file system outlives a
// restart (guest.persist_rootfs, rootfs.persist). The spec declares the
// strings "never", "restart" and "always"; Fly's own Go client also reads
// "none" and the integers 0 to 3, the API's enum numbers for none, never,
// restart and always (fly-go machine_types.go, MachinePersistRootfs).
//
// A PersistRootfs holds the form it was read in and writes it back the
// same: an integer form is held as its digits ("2") and written as a
// number. Mode gives the mode whatever the form.
type PersistRootfs string

// The modes, in their string forms. PersistRootfsNone is what an unset
// value means.
const (
	PersistRootfsNone    PersistRootfs = "none"
	PersistRootfsNever   PersistRootfs = "never"
	PersistRootfsRestart PersistRootfs = "restart"
	PersistRootfsAlways  PersistRootfs = "always"
)

// numbered returns the mode an integer form stands for.
func numbered(p PersistRootfs) (PersistRootfs, bool) {
	switch p {
	case "0":
		return PersistRootfsNone, true
	case "1":
		return PersistRootfsNever, true
	case "2":
		return PersistRootfsRestart, true
	case "3":
		return PersistRootfsAlways, true
	}
	return "", false
}

// Mode is the mode p means in its string form: PersistRootfsNone (also
// for ""), PersistRootfsNever, PersistRootfsRestart, PersistRootfsAlways,
// or p as it is if it is no known form.
func (p PersistRootfs) Mode() PersistRootfs {
	if p == "" {
		return PersistRootfsNone
	}
	if m, ok := numbered(p); ok {
		return m
	}
	return p
}

// MarshalJSON writes the integer forms as numbers and the rest as strings.
func (p PersistRootfs) MarshalJSON() ([]byte, error) {
	if _, ok := numbered(p); ok {
		return []byte(p), nil
	}
	return json.Marshal(string(p))
}

// UnmarshalJSON accepts a string or one of the integers 0 to 3. Strings of
// digits are refused: they would come back out as numbers.
func (p *PersistRootfs) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	if _, ok := numbered(PersistRootfs(data)); ok {
		*p = PersistRootfs(data)
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("persist_rootfs: want a string or an integer from 0 to 3, got %s", truncate(data))
	}
	if _, ok := numbered(PersistRootfs(s)); ok {
		return fmt.Errorf("persist_rootfs: want a string or an integer from 0 to 3, got the string %q", s)
	}
	*p = PersistRootfs(s)
	return nil
}

// Valid reports whether p is one of the known forms (or unset).
func (p PersistRootfs) Valid() bool {
	switch p.Mode() {
	case PersistRootfsNone, PersistRootfsNever, PersistRootfsRestart, PersistRootfsAlways:
		return true
	}
	return false
}

// Validate refuses an unknown form, as the generated models' validation
// does for the spec's enums.
func (p PersistRootfs) Validate(strfmt.Registry) error {
	if p.Valid() {
		return nil
	}
	return errors.EnumFail("", "body", string(p),
		[]any{PersistRootfsNever, PersistRootfsRestart, PersistRootfsAlways, PersistRootfsNone, 0, 1, 2, 3})
}
