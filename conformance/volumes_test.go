package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	fly "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"
)

// TestVolumes follows flyctl's volumes commands around a Machine that
// mounts one.
func TestVolumes(t *testing.T) {
	e := newEnv(t)
	app := e.createApp("conf-volumes")
	size := 1
	var vol *fly.Volume
	e.check("CreateVolume", "creates an unattached volume, with the fields the API always sends", func(ctx context.Context) (err error) {
		vol, err = e.f.CreateVolume(ctx, app, fly.CreateVolumeRequest{Name: "data", Region: "ord", SizeGb: &size})
		if err != nil {
			return err
		}
		if vol.Name != "data" || vol.SizeGb != 1 || vol.Region != "ord" || vol.IsAttached() {
			return fmt.Errorf("volume %+v", vol)
		}
		obj, err := e.wireObject()
		if err != nil {
			return err
		}
		return sent(obj, map[string]string{"attached_machine_id": "null", "attached_alloc_id": "null", "host_dedication_key": `""`})
	})
	if vol == nil {
		t.FailNow()
	}
	e.check("GetVolume", "shows the volume", func(ctx context.Context) error {
		got, err := e.f.GetVolume(ctx, app, vol.ID)
		if err != nil {
			return err
		}
		if got.ID != vol.ID || !got.Encrypted {
			return fmt.Errorf("volume %+v", got)
		}
		obj, err := e.wireObject()
		if err != nil {
			return err
		}
		return sent(obj, map[string]string{"attached_machine_id": "null", "attached_alloc_id": "null", "host_dedication_key": `""`})
	})
	retention, backups := 10, false
	e.check("UpdateVolume", "changes snapshot retention and turns backups off", func(ctx context.Context) error {
		got, err := e.f.UpdateVolume(ctx, app, vol.ID, fly.UpdateVolumeRequest{SnapshotRetention: &retention, AutoBackupEnabled: &backups})
		if err != nil {
			return err
		}
		if got.SnapshotRetention != 10 || got.AutoBackupEnabled {
			return fmt.Errorf("retention %d, backups %t", got.SnapshotRetention, got.AutoBackupEnabled)
		}
		obj, err := e.wireObject()
		if err != nil {
			return err
		}
		return sent(obj, map[string]string{"auto_backup_enabled": "false"})
	})
	e.check("CreateVolumeSnapshot", "takes a snapshot", func(ctx context.Context) error {
		return e.f.CreateVolumeSnapshot(ctx, app, vol.ID)
	})
	e.check("GetVolumeSnapshots", "lists it, with its size even when the volume holds no data", func(ctx context.Context) error {
		snaps, err := e.f.GetVolumeSnapshots(ctx, app, vol.ID)
		if err != nil {
			return err
		}
		if len(snaps) != 1 || snaps[0].ID == "" {
			return fmt.Errorf("snapshots %+v", snaps)
		}
		var wire []map[string]json.RawMessage
		if err := json.Unmarshal(e.lastExchange().respBody, &wire); err != nil || len(wire) != 1 {
			return fmt.Errorf("answer %s: %v", e.lastExchange().respBody, err)
		}
		return sent(wire[0], map[string]string{"size": "0"})
	})

	cfg := service("postgres")
	cfg.Mounts = []fly.MachineMount{{Volume: vol.ID, Path: "/data"}}
	m := e.launch(app, cfg)
	e.check("GetVolume", "names the Machine that mounts it", func(ctx context.Context) error {
		got, err := e.f.GetVolume(ctx, app, vol.ID)
		if err != nil {
			return err
		}
		if got.AttachedMachine == nil || *got.AttachedMachine != m.ID {
			return fmt.Errorf("attached_machine_id %v, want %s", got.AttachedMachine, m.ID)
		}
		return nil
	})
	e.check("ExtendVolume", "grows it; a running Machine needs a restart to see the room", func(ctx context.Context) error {
		got, restart, err := e.f.ExtendVolume(ctx, app, vol.ID, 2)
		if err != nil {
			return err
		}
		if got == nil || got.SizeGb != 2 || !restart {
			return fmt.Errorf("volume %+v, needs_restart %t", got, restart)
		}
		return nil
	})
	e.check("GetVolumes", "lists the volume", func(ctx context.Context) error {
		vols, err := e.f.GetVolumes(ctx, app)
		return hasVolume(vols, err, vol.ID)
	})
	e.check("Destroy", "kill=true destroys the Machine that mounts it", func(ctx context.Context) error {
		return e.f.Destroy(ctx, app, fly.RemoveMachineInput{ID: m.ID, Kill: true}, "")
	})
	e.check("Wait", "destroyed, without a version", func(ctx context.Context) error {
		return e.f.Wait(ctx, app, m.ID, flaps.WithWaitStates("destroyed"), flaps.WithWaitTimeout(10*time.Second))
	})
	e.check("DeleteVolume", "deletes the freed volume and answers it", func(ctx context.Context) error {
		got, err := e.f.DeleteVolume(ctx, app, vol.ID)
		if err != nil {
			return err
		}
		if got.ID != vol.ID {
			return fmt.Errorf("answered volume %q", got.ID)
		}
		return nil
	})
	e.check("GetAllVolumes", "no longer lists the deleted volume as usable", func(ctx context.Context) error {
		vols, err := e.f.GetAllVolumes(ctx, app)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(vols, func(v fly.Volume) bool { return v.ID == vol.ID && (v.State == "created" || v.State == "") }) {
			return errors.New("the deleted volume is listed as created")
		}
		return nil
	})
}

func hasVolume(vols []fly.Volume, err error, id string) error {
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(vols, func(v fly.Volume) bool { return v.ID == id }) {
		return fmt.Errorf("volume %s is not among the %d listed", id, len(vols))
	}
	return nil
}
