package flymachines_test

// What the models put on the wire and keep of what comes off it: nothing
// invented, nothing dropped, encoding/json's meaning throughout.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytypes"
	"github.com/flymachines/flymachines-go/models"
)

// futureValue is what a newer API might send under a key no spec names:
// nested, with numbers only their text keeps exactly.
const futureValue = `{"mode":"eager","limits":[1.50,1e3,12345678901234567890],"on":null}`

// machineFromTheFuture is a Machine carrying "flymachines_future" at every
// depth: the Machine, its config, guest, a service, a port and its HTTP
// response options, a check in the checks map, an event, the image ref.
var machineFromTheFuture = `{"id":"148ed193b95089","state":"started","flymachines_future":` + futureValue + `,
"config":{"image":"nginx","flymachines_future":` + futureValue + `,
 "guest":{"cpu_kind":"shared","cpus":1,"memory_mb":256,"flymachines_future":` + futureValue + `},
 "services":[{"protocol":"tcp","internal_port":8080,"autostop":true,"flymachines_future":` + futureValue + `,
  "ports":[{"port":443,"handlers":["tls","http"],"flymachines_future":` + futureValue + `,
   "http_options":{"response":{"headers":{"x":"y"},"flymachines_future":` + futureValue + `}}}]}],
 "checks":{"alive":{"type":"tcp","port":8080,"flymachines_future":` + futureValue + `}}},
"events":[{"type":"start","status":"started","timestamp":1727860502118,"flymachines_future":` + futureValue + `}],
"image_ref":{"registry":"docker.io","flymachines_future":` + futureValue + `}}`

func TestUnknownKeysSurviveAtEveryDepth(t *testing.T) {
	var m models.Machine
	if err := json.Unmarshal([]byte(machineFromTheFuture), &m); err != nil {
		t.Fatal(err)
	}
	holders := map[string]flytypes.Extra{
		"machine": m.Extra, "config": m.Config.Extra, "guest": m.Config.Guest.Extra,
		"service": m.Config.Services[0].Extra, "port": m.Config.Services[0].Ports[0].Extra,
		"response": m.Config.Services[0].Ports[0].HTTPOptions.Response.Extra,
		"check":    m.Config.Checks["alive"].Extra, "event": m.Events[0].Extra, "image_ref": m.ImageRef.Extra,
	}
	for where, extra := range holders {
		if v, ok := extra.Lookup("flymachines_future"); !ok || string(v) != futureValue {
			t.Errorf("%s: the unknown key holds %s, %v; want it as sent", where, v, ok)
		}
	}
	out, err := json.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(out, []byte(`"flymachines_future":`+futureValue)); n != len(holders) {
		t.Errorf("encoded %d copies of the unknown value, byte for byte; want %d:\n%s", n, len(holders), out)
	}
	assertSameJSON(t, machineFromTheFuture, string(out))
}

// The request models keep unknown keys too, at their top and in the config.
func TestRequestModelsKeepUnknownKeys(t *testing.T) {
	var machine map[string]json.RawMessage
	if err := json.Unmarshal([]byte(machineFromTheFuture), &machine); err != nil {
		t.Fatal(err)
	}
	body := `{"name":"w","skip_launch":false,"flymachines_future":` + futureValue + `,"config":` + string(machine["config"]) + `}`
	for _, req := range []any{new(models.CreateMachineRequest), new(models.UpdateMachineRequest)} {
		if err := json.Unmarshal([]byte(body), req); err != nil {
			t.Fatalf("%T: %v", req, err)
		}
		out, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		assertSameJSON(t, body, string(out))
		if n := bytes.Count(out, []byte(futureValue)); n != 7 {
			t.Errorf("%T: %d unknown values came back as sent, want 7", req, n)
		}
	}
}

// The guide's update: get, change the config, send it all back. What the
// API sent and this client does not know goes back with it.
func TestReadModifyWriteSendsBackWhatTheAPISent(t *testing.T) {
	rt := &recorder{answers: []string{machineFromTheFuture, machineFromTheFuture}}
	c := recordingClient(t, rt)
	ctx := context.Background()
	shown, err := c.Machines.Show(ctx, "shop", "148ed193b95089", nil)
	if err != nil {
		t.Fatal(err)
	}
	conf := shown.Config
	conf.Guest.MemoryMb = 512
	if _, err := c.Machines.Update(ctx, "shop", "148ed193b95089", &models.UpdateMachineRequest{Config: conf}, nil); err != nil {
		t.Fatal(err)
	}
	var sent struct {
		Config json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(rt.bodies[1], &sent); err != nil {
		t.Fatal(err)
	}
	original, _ := decodeJSONValue([]byte(machineFromTheFuture))
	config := original.(map[string]any)["config"].(map[string]any)
	config["guest"].(map[string]any)["memory_mb"] = json.Number("512")
	got, err := decodeJSONValue(sent.Config)
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	diffJSON("$.config", config, got, &problems, &roundTripTally{})
	if len(problems) > 0 {
		t.Errorf("the update's config is not the one read with memory_mb changed:\n  %s", strings.Join(problems, "\n  "))
	}
	if n := bytes.Count(sent.Config, []byte(futureValue)); n != 6 {
		t.Errorf("the update carries %d unknown values as sent, want the config's 6", n)
	}
}

// A request built in Go carries only what was set: an unset slice, map or
// object is left out (never null); an empty one set on purpose is kept;
// a required field is always there.
func TestNothingInventedOnTheWire(t *testing.T) {
	req := &models.CreateMachineRequest{
		Name: "worker",
		Config: &models.FlyMachineConfig{
			Image:    "nginx",
			Env:      map[string]string{},
			Init:     &models.FlyMachineInit{Cmd: []string{}},
			Guest:    &models.FlyMachineGuest{},
			Statics:  []*models.FlyStatic{{}},
			Services: []*models.FlyMachineService{{Autostart: new(false), Autostop: flytypes.AutostopSuspend}},
		},
	}
	out, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"config":{"env":{},"guest":{},"image":"nginx","init":{"cmd":[]},` +
		`"services":[{"autostart":false,"autostop":"suspend"}],"statics":[{"guest_path":null,"url_prefix":null}]},"name":"worker"}`
	if string(out) != want {
		t.Errorf("encoded\n %s\nwant\n %s", out, want)
	}
}

// The Machines API guide's create request goes out as the facts it holds,
// no more (it went out as 465 bytes, 122 of them nulls and empty keys).
func TestGuideCreateRequestGoesOutAsWritten(t *testing.T) {
	const guide = `{"name":"quirky-machine","config":{"image":"flyio/fastify-functions","env":{"APP_ENV":"production"},
"services":[{"ports":[{"port":443,"handlers":["tls","http"]},{"port":80,"handlers":["http"]}],"protocol":"tcp","internal_port":8080}],
"checks":{"httpget":{"type":"http","port":8080,"method":"GET","path":"/","interval":"15s","timeout":"10s"}}}}`
	var req models.CreateMachineRequest
	if err := json.Unmarshal([]byte(guide), &req); err != nil {
		t.Fatal(err)
	}
	rt := &recorder{answers: []string{`{"id":"148ed193b95089","config":{"image":"flyio/fastify-functions"}}`}}
	c := recordingClient(t, rt)
	if _, err := c.Machines.Create(context.Background(), "my-app-name", &req); err != nil {
		t.Fatal(err)
	}
	sent := bytes.TrimSpace(rt.bodies[0])
	assertSameJSON(t, guide, string(sent))
	var compact bytes.Buffer
	_ = json.Compact(&compact, []byte(guide))
	if len(sent) != compact.Len() {
		t.Errorf("sent %d bytes for the guide's %d", len(sent), compact.Len())
	}
}

// Fields set after decoding win over the zero values kept as sent.
func TestFieldsSetAfterDecodingWin(t *testing.T) {
	var r models.StartMachineResponse
	if err := json.Unmarshal([]byte(`{"previous_state":"stopped","migrated":false,"new_host":""}`), &r); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(r)
	assertSameJSON(t, `{"previous_state":"stopped","migrated":false,"new_host":""}`, string(out))
	r.Migrated, r.NewHost = true, "h2"
	out, _ = json.Marshal(r)
	if string(out) != `{"migrated":true,"new_host":"h2","previous_state":"stopped"}` {
		t.Errorf("encoded %s", out)
	}
}

// A value of the wrong type is refused as encoding/json refuses it, the
// error naming the model and the path to the value.
func TestDecodeErrorsNameTheModelAndPath(t *testing.T) {
	var m models.Machine
	err := json.Unmarshal([]byte(`{"config":{"services":[{"ports":[{"port":"443"}]}]}}`), &m)
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Struct != "Machine" || te.Field != "config.services.ports.port" || te.Type.Kind() != reflect.Int64 {
		t.Errorf("error %v (%+v)", err, te)
	}
	err = json.Unmarshal([]byte(`{"config":"nginx"}`), &m)
	if !errors.As(err, &te) || te.Field != "config" || te.Type != reflect.TypeFor[models.FlyMachineConfig]() {
		t.Errorf("error %v", err)
	}
}

// A flexible field the facade cannot send is refused before anything is.
func TestFlexibleFieldsAreValidatedBeforeSending(t *testing.T) {
	rt := &recorder{}
	c := recordingClient(t, rt)
	for field, config := range map[string]*models.FlyMachineConfig{
		"config.services.0.autostop":  {Image: "nginx", Services: []*models.FlyMachineService{{Autostop: "sometimes"}}},
		"config.rootfs.persist":       {Image: "nginx", Rootfs: &models.FlyMachineRootfs{Persist: "7"}},
		"config.guest.persist_rootfs": {Image: "nginx", Guest: &models.FlyMachineGuest{PersistRootfs: "4"}},
	} {
		_, err := c.Machines.Create(context.Background(), "a", &models.CreateMachineRequest{Config: config})
		var ve *flymachines.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), field+" in body should be one of") {
			t.Errorf("error %v, want a validation error naming %s", err, field)
		}
	}
	if len(rt.bodies) != 0 {
		t.Errorf("%d requests sent", len(rt.bodies))
	}
}

// recorder answers each request with the next canned body (200) and keeps
// what was sent.
type recorder struct {
	mu      sync.Mutex
	answers []string
	bodies  [][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	r.bodies = append(r.bodies, body)
	answer := `{}`
	if len(r.answers) > 0 {
		answer, r.answers = r.answers[0], r.answers[1:]
	}
	return &http.Response{StatusCode: 200, Status: "200 OK", Request: req,
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(answer))}, nil
}

func recordingClient(t *testing.T, rt http.RoundTripper) *flymachines.Client {
	t.Helper()
	c, err := flymachines.New(flymachines.WithToken("fo1_recordingToken0123456789"), flymachines.WithBaseURL("https://api.machines.dev"),
		flymachines.WithoutRateLimits(), flymachines.WithoutRetries(), flymachines.WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func assertSameJSON(t *testing.T, want, got string) {
	t.Helper()
	w, err := decodeJSONValue([]byte(want))
	if err != nil {
		t.Fatal(err)
	}
	g, err := decodeJSONValue([]byte(got))
	if err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	var problems []string
	var tally roundTripTally
	diffJSON("$", w, g, &problems, &tally)
	if len(problems) > 0 {
		t.Errorf("JSON differs:\n  %s", strings.Join(problems, "\n  "))
	}
}

// wireModels are the models the differential fuzzing decodes into: between
// them, every kind of field the generated code handles itself.
var wireModels = []func() any{
	func() any { return new(models.Machine) },
	func() any { return new(models.CreateMachineRequest) },
	func() any { return new(models.UpdateMachineRequest) },
	func() any { return new(models.Volume) },
	func() any { return new(models.App) },
	func() any { return new(models.MainRegionResponse) },
	func() any { return new(models.AppSecretsUpdateRequest) },
	func() any { return new(models.SecretKey) },
	func() any { return new(models.PostgresCluster) },
	func() any { return new(models.ErrorResponse) },
	func() any { return new(models.FlyStatic) },
}

// FuzzModelsMatchEncodingJSON: a model decodes any input to the values
// encoding/json decodes into a type with the same fields and no methods
// (Extra aside), or fails where it fails; and encodes (Extra emptied) to
// the JSON encoding/json writes for that type.
func FuzzModelsMatchEncodingJSON(f *testing.F) {
	seeds := []string{benchMachineJSON, machineFromTheFuture, `{}`, `null`, `{"config":null,"events":[null,{}],"checks":[]}`,
		`{"id":1}`, `{"ID":"x","Config":{"Image":"y"}}`, `{"config":{"guest":{"cpus":2147483648,"memory_mb":-0}}}`,
		`{"regions":[{"latitude":-33.86,"longitude":1e-7,"code":"syd"}]}`, `{"values":{"A":null,"B":"x"}}`,
		`{"public_key":"aGVsbG8=","name":"k"}`, `{"created_at":"2024-01-15T10:30:00Z","name":"pg"}`,
		`{"config":{"services":[{"autostop":"sometimes"}]}}`, `{"a":"\u00e9\n","b":"\ud800"}`}
	if dir := realBodiesDir(); dir != "" {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil && filepath.Base(file) != "manifest.json" {
				seeds = append(seeds, string(b))
			}
		}
	}
	for i, s := range seeds {
		f.Add(uint8(i), []byte(s))
	}
	mirrors := map[reflect.Type]reflect.Type{}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		model := wireModels[int(which)%len(wireModels)]()
		mirror := reflect.New(mirrorOf(reflect.TypeOf(model).Elem(), mirrors))
		modelErr := decodeNumbers(data, model)
		mirrorErr := decodeNumbers(data, mirror.Interface())
		if (modelErr != nil) != (mirrorErr != nil) {
			t.Fatalf("%T: decoding %s: model %v, encoding/json %v", model, data, modelErr, mirrorErr)
		}
		if modelErr != nil {
			return
		}
		if diff := compareToMirror(reflect.ValueOf(model).Elem(), mirror.Elem(), "$"); diff != "" {
			t.Fatalf("%T: decoding %s: %s", model, data, diff)
		}
		clearExtras(reflect.ValueOf(model))
		got, gotErr := json.Marshal(model)
		want, wantErr := json.Marshal(mirror.Interface())
		if (gotErr != nil) != (wantErr != nil) {
			t.Fatalf("%T: encoding: model %v, encoding/json %v", model, gotErr, wantErr)
		}
		if gotErr == nil && !bytes.Equal(got, want) {
			g, _ := decodeJSONValue(got)
			w, _ := decodeJSONValue(want)
			var problems []string
			diffJSON("$", w, g, &problems, &roundTripTally{})
			if len(problems) > 0 {
				t.Fatalf("%T: encoded\n %s\nencoding/json\n %s\n%s", model, got, want, strings.Join(problems, "\n"))
			}
		}
	})
}

func decodeNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	_, err := dec.Token()
	if err != io.EOF {
		return errors.New("trailing data")
	}
	return nil
}

var extraType = reflect.TypeFor[flytypes.Extra]()

// isModel reports whether t is a generated object model.
func isModel(t reflect.Type) bool {
	if t.Kind() != reflect.Struct || t.PkgPath() != reflect.TypeFor[models.Machine]().PkgPath() {
		return false
	}
	f, ok := t.FieldByName("Extra")
	return ok && f.Type == extraType
}

// mirrorOf is t with every model in it replaced by a struct of the same
// fields, Extra left out, and no methods.
func mirrorOf(t reflect.Type, memo map[reflect.Type]reflect.Type) reflect.Type {
	if m, ok := memo[t]; ok {
		return m
	}
	var m reflect.Type
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map:
		elem := mirrorOf(t.Elem(), memo)
		switch {
		case elem == t.Elem():
			return t // keeps named types such as strfmt.Base64
		case t.Kind() == reflect.Pointer:
			m = reflect.PointerTo(elem)
		case t.Kind() == reflect.Slice:
			m = reflect.SliceOf(elem)
		default:
			m = reflect.MapOf(t.Key(), elem)
		}
	case reflect.Struct:
		if !isModel(t) {
			return t
		}
		var fields []reflect.StructField
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Type == extraType {
				continue
			}
			fields = append(fields, reflect.StructField{Name: f.Name, Type: mirrorOf(f.Type, memo), Tag: f.Tag})
		}
		m = reflect.StructOf(fields)
	default:
		return t
	}
	if m == t {
		return t
	}
	memo[t] = m
	return m
}

// compareToMirror describes the first difference between a model value
// and its mirror's, or returns "".
func compareToMirror(v, m reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		if v.IsNil() != m.IsNil() {
			return path + ": nil on one side only"
		}
		if v.IsNil() {
			return ""
		}
	}
	switch {
	case v.Kind() == reflect.Pointer && !v.IsNil():
		return compareToMirror(v.Elem(), m.Elem(), path)
	case v.Kind() == reflect.Slice && v.Type().Elem() != m.Type().Elem():
		if v.Len() != m.Len() {
			return path + ": lengths differ"
		}
		for i := range v.Len() {
			if d := compareToMirror(v.Index(i), m.Index(i), path+"[]"); d != "" {
				return d
			}
		}
		return ""
	case v.Kind() == reflect.Map && v.Type().Elem() != m.Type().Elem():
		if v.Len() != m.Len() {
			return path + ": sizes differ"
		}
		for _, k := range v.MapKeys() {
			if !m.MapIndex(k).IsValid() {
				return path + ": key " + k.String() + " on one side only"
			}
			if d := compareToMirror(v.MapIndex(k), m.MapIndex(k), path+"."+k.String()); d != "" {
				return d
			}
		}
		return ""
	case v.Kind() == reflect.Struct && isModel(v.Type()):
		j := 0
		for i := range v.NumField() {
			if v.Type().Field(i).Type == extraType {
				continue
			}
			if d := compareToMirror(v.Field(i), m.Field(j), path+"."+v.Type().Field(i).Name); d != "" {
				return d
			}
			j++
		}
		return ""
	}
	if !reflect.DeepEqual(v.Interface(), m.Interface()) {
		return path + ": " + short(v.Interface()) + " against " + short(m.Interface())
	}
	return ""
}

// clearExtras empties every Extra in v.
func clearExtras(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			clearExtras(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			clearExtras(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			clearExtras(e)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		if !isModel(v.Type()) {
			return
		}
		for i := range v.NumField() {
			if v.Field(i).Type() == extraType {
				v.Field(i).Set(reflect.Zero(extraType))
			} else {
				clearExtras(v.Field(i))
			}
		}
	}
}

// What encoding/json cannot encode, the models refuse with its error.
func TestEncodeErrorsAreEncodingJSONs(t *testing.T) {
	r := models.MainRegionResponse{Regions: []*models.MainRegionRow{{Code: "syd", Latitude: math.NaN()}}}
	_, err := json.Marshal(r)
	var ue *json.UnsupportedValueError
	if !errors.As(err, &ue) {
		t.Errorf("error %v, want encoding/json's UnsupportedValueError", err)
	}
}
