package flytypes

import (
	"encoding/json"
	"testing"
)

func TestAutostopReadsBothWireForms(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Autostop
	}{
		{`"stop"`, AutostopStop},
		{`"suspend"`, AutostopSuspend},
		{`"off"`, AutostopOff},
		{`true`, AutostopStop},
		{`false`, AutostopOff},
	} {
		var got struct {
			A Autostop `json:"autostop"`
		}
		if err := json.Unmarshal([]byte(`{"autostop":`+tc.in+`}`), &got); err != nil {
			t.Fatalf("%s: %v", tc.in, err)
		}
		if got.A != tc.want {
			t.Errorf("%s: got %q, want %q", tc.in, got.A, tc.want)
		}
	}
	var a Autostop
	if err := json.Unmarshal([]byte(`42`), &a); err == nil {
		t.Error("a number was accepted as autostop")
	}
	out, _ := json.Marshal(struct {
		A Autostop `json:"autostop"`
	}{AutostopStop})
	if string(out) != `{"autostop":"stop"}` {
		t.Errorf("marshalled as %s, want the string form", out)
	}
	if Autostop("sometimes").Valid() || !AutostopSuspend.Valid() {
		t.Error("Valid is wrong")
	}
}
