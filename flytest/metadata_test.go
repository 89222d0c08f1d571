package flytest

import (
	"maps"
	"testing"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

func TestMetadata(t *testing.T) {
	en := newEnv(t)
	req := createBody("nginx")
	req.Config.Metadata = map[string]string{"role": "web", "tier": "free"}
	m := en.create(req)
	ms, ctx := en.c.Machines, en.ctx

	all := func() map[string]string {
		t.Helper()
		res, err := ms.MachinesShowMetadataContext(ctx, machines.NewMachinesShowMetadataParams().WithAppName(testApp).WithMachineID(m.ID), nil)
		if err != nil {
			t.Fatal(errText(err))
		}
		return res.Payload
	}
	patch := func(md map[string]string, version string) error {
		_, err := ms.MachinesUpdateMetadataContext(ctx, machines.NewMachinesUpdateMetadataParams().WithAppName(testApp).WithMachineID(m.ID).
			WithBody(&models.UpdateMetadataRequest{Metadata: md, MachineVersion: version}), nil)
		return err
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
	var pf *machines.MachinesUpdateMetadataPreconditionFailed
	if err := patch(map[string]string{"zone": "b"}, "01ARZ3NDEKTSV4RRFFQ69G5FAV"); !asErr(err, &pf) {
		t.Errorf("stale machine_version is not the declared 412 type: %T", err)
	}
	if err := patch(map[string]string{"zone": "b"}, m.Version); err != nil {
		t.Errorf("current machine_version: %v", errText(err))
	}
	// The PUT form behaves the same.
	if _, err := ms.MachinesUpdateMetadataDeprecatedContext(ctx, machines.NewMachinesUpdateMetadataDeprecatedParams().WithAppName(testApp).WithMachineID(m.ID).
		WithBody(&models.UpdateMetadataRequest{Metadata: map[string]string{"zone": "c"}}), nil); err != nil {
		t.Fatal(errText(err))
	}

	// One key at a time.
	if _, err := ms.MachinesUpsertMetadataContext(ctx, machines.NewMachinesUpsertMetadataParams().WithAppName(testApp).WithMachineID(m.ID).WithKey("owner").
		WithBody(&models.UpsertMetadataKeyRequest{Value: "ops"}), nil); err != nil {
		t.Fatal(errText(err))
	}
	get := func(key string) (string, error) {
		res, err := ms.MachinesGetMetadataKeyContext(ctx, machines.NewMachinesGetMetadataKeyParams().WithAppName(testApp).WithMachineID(m.ID).WithKey(key), nil)
		if err != nil {
			return "", err
		}
		return res.Payload.Value, nil
	}
	if v, err := get("owner"); err != nil || v != "ops" {
		t.Errorf("owner: %q %v", v, err)
	}
	if _, err := ms.MachinesDeleteMetadataContext(ctx, machines.NewMachinesDeleteMetadataParams().WithAppName(testApp).WithMachineID(m.ID).WithKey("owner"), nil); err != nil {
		t.Fatal(errText(err))
	}
	var nf *machines.MachinesGetMetadataKeyNotFound
	if _, err := get("owner"); !asErr(err, &nf) {
		t.Errorf("deleted key: %v, want 404", err)
	}
	if got := all(); !maps.Equal(got, map[string]string{"role": "web", "zone": "c"}) {
		t.Errorf("final metadata: %v", got)
	}
	// It is config.metadata: the Machine shows it, and the version did not change.
	if shown := en.show(m.ID); shown.Config.Metadata["zone"] != "c" || shown.Version != m.Version {
		t.Errorf("machine after metadata writes: version %s, metadata %v", shown.Version, shown.Config.Metadata)
	}
}
