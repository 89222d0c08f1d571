package flytypes

import (
	"encoding/json"
	"testing"
)

func TestSignalTravelsAsItWasMade(t *testing.T) {
	for _, tc := range []struct {
		sig  Signal
		wire string
		num  int
	}{
		{SignalNumber(9), `{"signal":9}`, 9},
		{SIGTERM, `{"signal":"SIGTERM"}`, 15},
		{Signal("sigkill"), `{"signal":"sigkill"}`, 9},
	} {
		out, err := json.Marshal(struct {
			S Signal `json:"signal"`
		}{tc.sig})
		if err != nil || string(out) != tc.wire {
			t.Errorf("%q: marshalled %s (%v), want %s", tc.sig, out, err, tc.wire)
		}
		var back struct {
			S Signal `json:"signal"`
		}
		if err := json.Unmarshal(out, &back); err != nil || back.S != tc.sig {
			t.Errorf("%s: read back %q (%v)", out, back.S, err)
		}
		if n, ok := back.S.Number(); !ok || n != tc.num {
			t.Errorf("%q: number %d, %t; want %d", tc.sig, n, ok, tc.num)
		}
	}
}

func TestSignalRefusesWhatIsNoSignal(t *testing.T) {
	var s Signal
	for _, bad := range []string{`9.5`, `true`, `{}`} {
		if err := json.Unmarshal([]byte(bad), &s); err == nil {
			t.Errorf("%s was read as a signal", bad)
		}
	}
	for _, bad := range []Signal{"SIGNOPE", "0", "65", "-1"} {
		if bad.Valid() {
			t.Errorf("%q is valid", bad)
		}
	}
	if !Signal("").Valid() || !SignalNumber(64).Valid() {
		t.Error("unset or SIGRTMAX reads as invalid")
	}
}
