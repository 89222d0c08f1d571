package flytypes

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"testing"
)

// The helpers write what encoding/json writes and read what it reads: it
// is the reference, checked here on arbitrary input.

func FuzzAppendStringMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "plain", "quote\" back\\slash", "tab\tnew\nline\r", "\x00\x1f\x7f", "é€😀", "bad\xff\xfeutf8", "<&>", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString([]byte("x"), s)[1:]
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: invalid JSON: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Errorf("AppendString(%q) reads back %q, encoding/json's %q", s, back, wantBack)
		}
	})
}

func FuzzAppendFloatMatchesEncodingJSON(f *testing.F) {
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-7, 1e-6, 123456789, 1e20, 1e21, 1.7976931348623157e308, 5e-324, 0.1} {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		got, err := AppendFloat(nil, x)
		want, wantErr := json.Marshal(x)
		if (err != nil) != (wantErr != nil) || string(got) != string(want) && err == nil {
			t.Errorf("AppendFloat(%v) = %s, %v; encoding/json %s, %v", x, got, err, want, wantErr)
		}
		got32, err := AppendFloat(nil, float32(x))
		want32, wantErr := json.Marshal(float32(x))
		if (err != nil) != (wantErr != nil) || string(got32) != string(want32) && err == nil {
			t.Errorf("AppendFloat(float32(%v)) = %s; encoding/json %s", x, got32, want32)
		}
	})
}

func FuzzDecodeScalarsMatchEncodingJSON(f *testing.F) {
	for _, s := range []string{`0`, `-0`, `12`, `-9223372036854775808`, `9223372036854775808`, `01`, `1.5`, `1e3`, `-`, `"x"`, `"\u00e9"`, `"a\"b"`, "\"\x01\"", `true`, `null`, `2147483648`, `1E400`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !json.Valid(v) {
			return // the helpers only ever see what a decoder accepted
		}
		var i64, wantI64 int64
		if err := DecodeInt(v, &i64); err == nil {
			if json.Unmarshal(v, &wantI64) != nil || i64 != wantI64 {
				t.Errorf("DecodeInt(%s) = %d, encoding/json %d", v, i64, wantI64)
			}
		}
		var i32, wantI32 int32
		if err := DecodeInt(v, &i32); err == nil {
			if json.Unmarshal(v, &wantI32) != nil || i32 != wantI32 {
				t.Errorf("DecodeInt32(%s) = %d, encoding/json %d", v, i32, wantI32)
			}
		}
		var f64, wantF64 float64
		if err := DecodeFloat(v, &f64); err == nil {
			if json.Unmarshal(v, &wantF64) != nil || math.Float64bits(f64) != math.Float64bits(wantF64) {
				t.Errorf("DecodeFloat(%s) = %v, encoding/json %v", v, f64, wantF64)
			}
		}
		var s, wantS string
		if err := DecodeString(v, &s); err == nil {
			if json.Unmarshal(v, &wantS) != nil || s != wantS {
				t.Errorf("DecodeString(%s) = %q, encoding/json %q", v, s, wantS)
			}
		}
		var b, wantB bool
		if err := DecodeBool(v, &b); err == nil {
			if json.Unmarshal(v, &wantB) != nil || b != wantB {
				t.Errorf("DecodeBool(%s) = %v, encoding/json %v", v, b, wantB)
			}
		}
		if isZeroLiteral(v) {
			var x any
			_ = json.Unmarshal(v, &x)
			switch x := x.(type) {
			case nil:
			case bool, string:
				if x != false && x != "" {
					t.Errorf("isZeroLiteral(%s), but it is %v", v, x)
				}
			case float64:
				if x != 0 {
					t.Errorf("isZeroLiteral(%s), but it is %v", v, x)
				}
			default:
				t.Errorf("isZeroLiteral(%s) for a %T", v, x)
			}
		}
	})
}

// The member scanner never panics, and on what a decoder accepts as an
// object it finds the members encoding/json finds.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{}`, ` { "a" : 1 , "b":[{"c":"}"}],"d":"\"{"} `, `{"a":}`, `{"a":1`, `{"a" 1}`, `[]`, `{"a":"\\"}`, `{"a":{"b":[1,2,{"c":null}]}}x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []string
		err := members(data, func(m member[[]byte]) bool {
			got = append(got, string(m.keyText())+"="+string(m.value))
			return true
		})
		var want map[string]json.RawMessage
		if json.Unmarshal(data, &want) != nil || bytes.HasPrefix(bytes.TrimSpace(data), []byte("null")) {
			return
		}
		if err != nil {
			t.Fatalf("members(%s): %v on a valid object", data, err)
		}
		seen := map[string]string{}
		for _, kv := range got {
			k, v, _ := bytes.Cut([]byte(kv), []byte("="))
			seen[string(k)] = string(v) // the last of duplicate keys wins, as in encoding/json
		}
		for k, v := range want {
			var a, b any
			_ = json.Unmarshal(v, &a)
			if err := json.Unmarshal([]byte(seen[k]), &b); err != nil || !jsonEqual(a, b) {
				t.Errorf("members(%s): %q = %s, encoding/json %s", data, k, seen[k], v)
			}
		}
	})
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestAppendIntAndCollections(t *testing.T) {
	if got := string(AppendInt(nil, int32(-42))); got != "-42" {
		t.Error(got)
	}
	if got := string(AppendStringMap(nil, map[string]string{"b": "2", "a": "1"})); got != `{"a":"1","b":"2"}` {
		t.Error(got)
	}
	x := "v"
	if got := string(AppendNullableStringMap(nil, map[string]*string{"k": nil, "j": &x})); got != `{"j":"v","k":null}` {
		t.Error(got)
	}
	if got := string(AppendStrings[string](nil, nil)); got != "null" {
		t.Error(got)
	}
	if got := string(AppendStrings(nil, []string{})); got != "[]" {
		t.Error(got)
	}
	if !FloatSet(math.Copysign(0, -1)) || FloatSet(0) {
		t.Error("FloatSet: -0 is written, 0 is not")
	}
	if _, err := AppendFloat(nil, math.NaN()); err == nil {
		t.Error("NaN written")
	}
	if got := strconv.Quote(string(AppendString(nil, "a\x01"))); got != `"\"a\\u0001\""` {
		t.Error(got)
	}
}

type zeroByMethod struct{ n int }

func (z zeroByMethod) IsZero() bool { return z.n < 0 }

type zeroByPointerMethod struct{ n int }

func (z *zeroByPointerMethod) IsZero() bool { return z.n == 7 }

// IsZero leaves out what encoding/json's omitzero leaves out.
func TestIsZeroMatchesOmitzero(t *testing.T) {
	check := func(name string, v any, encoded []byte) {
		t.Helper()
		if omitted := string(encoded) == "{}"; IsZero(v) != omitted {
			t.Errorf("%s: IsZero = %v, encoding/json omits it: %v (%s)", name, IsZero(v), omitted, encoded)
		}
	}
	for _, v := range []Autostop{"", AutostopTrue} {
		out, _ := json.Marshal(struct {
			X Autostop `json:"x,omitzero"`
		}{v})
		check("autostop "+string(v), v, out)
	}
	for _, v := range []zeroByMethod{{-1}, {0}} {
		out, _ := json.Marshal(struct {
			X zeroByMethod `json:"x,omitzero"`
		}{v})
		check("method", v, out)
	}
	for _, v := range []zeroByPointerMethod{{7}, {0}} {
		out, _ := json.Marshal(&struct {
			X zeroByPointerMethod `json:"x,omitzero"`
		}{v})
		check("pointer method", v, out)
	}
	for _, v := range [][]byte{nil, {}} {
		out, _ := json.Marshal(struct {
			X []byte `json:"x,omitzero"`
		}{v})
		check("bytes", v, out)
	}
}
