package flytypes

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"
)

// A model's object: two fields, one of them an int, and an Extra.
type testModel struct {
	Name  string `json:"name,omitzero"`
	Count int64  `json:"count,omitzero"`
	Extra Extra  `json:"-"`
}

var testObject = Object{Model: "testModel", Keys: []string{"count", "name"}}

func (m *testModel) UnmarshalJSON(data []byte) error {
	type fields testModel
	return testObject.Decode(data, m, (*fields)(m), &m.Extra, func(key, value []byte) (bool, error) {
		switch string(key) {
		case "name":
			return true, DecodeString(value, &m.Name)
		case "count":
			return true, DecodeInt(value, &m.Count)
		}
		return false, nil
	})
}

func (m testModel) MarshalJSON() ([]byte, error) {
	w := NewObjectWriter(nil)
	if m.Count != 0 {
		WriteInt(&w, `"count":`, m.Count)
	}
	if m.Name != "" {
		WriteString(&w, `"name":`, m.Name)
	}
	return testObject.End(&w, m.Extra)
}

func TestExtraKeepsWhatTheFieldsCannotHold(t *testing.T) {
	in := `{"name":"a","future":{"b":[1.50,1e3,12345678901234567890]},"count":0,"gone":null}`
	var m testModel
	if err := json.Unmarshal([]byte(in), &m); err != nil {
		t.Fatal(err)
	}
	if m.Name != "a" || m.Count != 0 {
		t.Fatalf("fields: %+v", m)
	}
	got := map[string]string{}
	for k, v := range m.Extra.All() {
		got[k] = string(v)
	}
	want := map[string]string{"future": `{"b":[1.50,1e3,12345678901234567890]}`, "count": "0", "gone": "null"}
	if !maps.Equal(got, want) || m.Extra.Len() != 3 {
		t.Errorf("extra = %v, want %v", got, want)
	}
	out, _ := json.Marshal(m)
	if string(out) != `{"name":"a","future":{"b":[1.50,1e3,12345678901234567890]},"count":0,"gone":null}` {
		t.Errorf("encoded %s", out)
	}
	m.Count = 7 // the field wins over the zero it was read as
	out, _ = json.Marshal(m)
	if string(out) != `{"count":7,"name":"a","future":{"b":[1.50,1e3,12345678901234567890]},"gone":null}` {
		t.Errorf("encoded %s", out)
	}
}

func TestExtraSetAndDelete(t *testing.T) {
	var e Extra
	if err := e.Set("b", json.RawMessage(` [1, 2] `)); err != nil {
		t.Fatal(err)
	}
	if err := e.Set("a", json.RawMessage(`"x"`)); err != nil {
		t.Fatal(err)
	}
	if err := e.Set("b", json.RawMessage(`3`)); err != nil {
		t.Fatal(err)
	}
	if e.String() != `{"a":"x","b":3}` {
		t.Errorf("after Set: %s", e)
	}
	if v, ok := e.Lookup("a"); !ok || string(v) != `"x"` {
		t.Errorf("Lookup(a) = %s, %v", v, ok)
	}
	if err := e.Set("c", json.RawMessage(`{`)); err == nil {
		t.Error("Set took invalid JSON")
	}
	e.Delete("a")
	e.Delete("b")
	if !e.IsZero() || e.Len() != 0 || e.String() != "{}" {
		t.Errorf("after Delete: %s", e)
	}
	m := testModel{Name: "n"}
	_ = m.Extra.Set("name", json.RawMessage(`"hidden"`))
	_ = m.Extra.Set("new", json.RawMessage(`true`))
	out, _ := json.Marshal(m)
	if string(out) != `{"name":"n","new":true}` {
		t.Errorf("a set field hides a member of the same key: %s", out)
	}
}

// What encoding/json refuses, the model refuses with encoding/json's error,
// naming the model rather than the type it decodes through.
func TestDecodeFallsBackOnEncodingJSON(t *testing.T) {
	var m testModel
	err := json.Unmarshal([]byte(`{"count":"three"}`), &m)
	var te *json.UnmarshalTypeError
	if !errorsAs(err, &te) || te.Struct != "testModel" || te.Field != "count" {
		t.Errorf("error %v", err)
	}
	// A key matching a field only ignoring case goes to the field, as
	// encoding/json has it.
	m = testModel{}
	if err := json.Unmarshal([]byte(`{"NAME":"x","Count":2}`), &m); err != nil || m.Name != "x" || m.Count != 2 || !m.Extra.IsZero() {
		t.Errorf("case-insensitive keys: %+v, %v", m, err)
	}
	// Escaped keys and strings.
	m = testModel{}
	if err := json.Unmarshal([]byte(`{"n\u0061me":"\u00e9\"","x\ty":1}`), &m); err != nil || m.Name != `é"` {
		t.Errorf("escapes: %+v, %v", m, err)
	}
	if v, ok := m.Extra.Lookup("x\ty"); !ok || string(v) != "1" {
		t.Errorf("escaped unknown key: %v", slices.Collect(maps.Keys(maps.Collect(m.Extra.All()))))
	}
	for _, bad := range []string{`{"name":tru}`, `{"name":"a",}`, `{"name" "a"}`, `{"x":[1,}`, `[1]`, `"s"`} {
		if err := (&testModel{}).UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

func errorsAs(err error, target **json.UnmarshalTypeError) bool {
	te, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*target = te
	}
	return ok
}
