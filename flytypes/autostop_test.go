package flytypes

import (
	"encoding/json"
	"errors"
	"testing"

	oaerrors "github.com/go-openapi/errors"
	"github.com/go-openapi/strfmt"
)

// The flexible types write back exactly the form they read, and tell the
// mode whatever the form.
func TestFlexibleTypesRoundTripTheirWireForm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		mode string
		new  func() interface{ Valid() bool }
	}{
		{`"stop"`, "stop", func() interface{ Valid() bool } { return new(Autostop) }},
		{`"suspend"`, "suspend", func() interface{ Valid() bool } { return new(Autostop) }},
		{`"off"`, "off", func() interface{ Valid() bool } { return new(Autostop) }},
		{`true`, "stop", func() interface{ Valid() bool } { return new(Autostop) }},
		{`false`, "off", func() interface{ Valid() bool } { return new(Autostop) }},
		{`"always"`, "always", func() interface{ Valid() bool } { return new(PersistRootfs) }},
		{`"none"`, "none", func() interface{ Valid() bool } { return new(PersistRootfs) }},
		{`0`, "none", func() interface{ Valid() bool } { return new(PersistRootfs) }},
		{`1`, "never", func() interface{ Valid() bool } { return new(PersistRootfs) }},
		{`2`, "restart", func() interface{ Valid() bool } { return new(PersistRootfs) }},
		{`3`, "always", func() interface{ Valid() bool } { return new(PersistRootfs) }},
	} {
		v := tc.new()
		if err := json.Unmarshal([]byte(tc.in), v); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		var mode string
		switch x := v.(type) {
		case *Autostop:
			mode = string(x.Mode())
		case *PersistRootfs:
			mode = string(x.Mode())
		}
		if mode != tc.mode || !v.Valid() {
			t.Errorf("%s: mode %q (valid %v), want %q", tc.in, mode, v.Valid(), tc.mode)
		}
		out, err := json.Marshal(v)
		if err != nil || string(out) != tc.in {
			t.Errorf("%s came back as %s (%v)", tc.in, out, err)
		}
	}
}

func TestFlexibleTypesRefuseWhatTheyCouldNotWriteBack(t *testing.T) {
	for _, in := range []string{`"true"`, `"false"`, `42`, `{}`} {
		var a Autostop
		if err := json.Unmarshal([]byte(in), &a); err == nil {
			t.Errorf("autostop %s accepted as %q", in, a)
		}
	}
	for _, in := range []string{`"2"`, `4`, `-1`, `2.0`, `true`} {
		var p PersistRootfs
		if err := json.Unmarshal([]byte(in), &p); err == nil {
			t.Errorf("persist_rootfs %s accepted as %q", in, p)
		}
	}
	var a Autostop
	if err := json.Unmarshal([]byte(`null`), &a); err != nil || a != "" {
		t.Errorf("null: %q, %v", a, err)
	}
	if PersistRootfs("").Mode() != PersistRootfsNone {
		t.Error("an unset persist_rootfs is not none")
	}
}

func TestFlexibleTypesValidateLikeEnums(t *testing.T) {
	for _, v := range []interface{ Validate(strfmt.Registry) error }{
		Autostop(""), AutostopTrue, AutostopSuspend, PersistRootfs(""), PersistRootfs("2"), PersistRootfsRestart,
	} {
		if err := v.Validate(strfmt.Default); err != nil {
			t.Errorf("%v: %v", v, err)
		}
	}
	for _, v := range []interface{ Validate(strfmt.Registry) error }{Autostop("sometimes"), PersistRootfs("7")} {
		err := v.Validate(strfmt.Default)
		var ve *oaerrors.Validation
		if !errors.As(err, &ve) || ve.Code() != oaerrors.EnumFailCode {
			t.Errorf("%v: %v, want an enum validation error", v, err)
		}
	}
}
