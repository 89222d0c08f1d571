package flytest

import (
	"maps"
	"testing"

	"github.com/flymachines/flymachines-go/models"
)

func TestMetadata(t *testing.T) {
	en := newEnv(t)
	req := createBody("nginx")
	req.Config.Metadata = map[string]string{"role": "web", "tier": "free"}
	m := en.create(req)
	md, ctx := en.c.Metadata, en.ctx

	all := func() map[string]string {
		t.Helper()
		res, err := md.List(ctx, testApp, m.ID)
		if err != nil {
			t.Fatal(errText(err))
		}
		return res
	}
	patch := func(values map[string]string, version string) error {
		return md.Update(ctx, testApp, m.ID, &models.UpdateMetadataRequest{Metadata: values, MachineVersion: version}, nil)
	}
	if got := all(); !maps.Equal(got, req.Config.Metadata) {
		t.Errorf("metadata: %v", got)
	}

	// PATCH merges; "" deletes.
	if err := patch(map[string]string{"tier": "", "zone": "a"}, ""); err != nil {
		t.Fatal(errText(err))
	}
	if got := all(); !maps.Equal(got, map[string]string{"role": "web", "zone": "a"}) {
		t.Errorf("after patch: %v", got)
	}
	// machine_version guards it.
	if err := patch(map[string]string{"zone": "b"}, "01ARZ3NDEKTSV4RRFFQ69G5FAV"); codeOf(err) != 412 {
		t.Errorf("stale machine_version: %v, want 412", err)
	}
	// The 412 is the one the spec declares: an ErrorResponse body.
	if err := patch(map[string]string{"zone": "b"}, "01ARZ3NDEKTSV4RRFFQ69G5FAV"); errorText(err) == "" {
		t.Errorf("stale machine_version: %v, want an ErrorResponse body with an error", err)
	}
	if err := patch(map[string]string{"zone": "b"}, m.Version); err != nil {
		t.Errorf("current machine_version: %v", errText(err))
	}
	// The PUT form behaves the same.
	if err := md.Replace(ctx, testApp, m.ID, &models.UpdateMetadataRequest{Metadata: map[string]string{"zone": "c"}}, nil); err != nil {
		t.Fatal(errText(err))
	}

	// One key at a time.
	if err := md.Set(ctx, testApp, m.ID, "owner", &models.UpsertMetadataKeyRequest{Value: "ops"}, nil); err != nil {
		t.Fatal(errText(err))
	}
	get := func(key string) (string, error) {
		res, err := md.Get(ctx, testApp, m.ID, key)
		if err != nil {
			return "", err
		}
		return res.Value, nil
	}
	if v, err := get("owner"); err != nil || v != "ops" {
		t.Errorf("owner: %q %v", v, err)
	}
	if err := md.Delete(ctx, testApp, m.ID, "owner", nil); err != nil {
		t.Fatal(errText(err))
	}
	if _, err := get("owner"); codeOf(err) != 404 || errorText(err) == "" {
		t.Errorf("deleted key: %v, want 404 with an ErrorResponse body", err)
	}
	if got := all(); !maps.Equal(got, map[string]string{"role": "web", "zone": "c"}) {
		t.Errorf("final metadata: %v", got)
	}
	// It is config.metadata: the Machine shows it, and the version did not change.
	if shown := en.show(m.ID); shown.Config.Metadata["zone"] != "c" || shown.Version != m.Version {
		t.Errorf("machine after metadata writes: version %s, metadata %v", shown.Version, shown.Config.Metadata)
	}
}
