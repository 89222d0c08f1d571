package flytest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// The interplay of volumes and the Machines that mount them.

func (en *env) volume(id string) *models.Volume {
	en.t.Helper()
	v, err := en.c.Volumes.Show(en.ctx, testApp, id)
	if err != nil {
		en.t.Fatalf("show volume %s: %v", id, errText(err))
	}
	return v
}

func (en *env) deleteVolume(id string) (*models.Volume, error) {
	return en.c.Volumes.Delete(en.ctx, testApp, id)
}

func (en *env) extendVolume(id string, sizeGB int64) *models.ExtendVolumeResponse {
	en.t.Helper()
	res, err := en.c.Volumes.Extend(en.ctx, testApp, id, &models.ExtendVolumeRequest{SizeGb: sizeGB})
	if err != nil {
		en.t.Fatalf("extend volume %s to %d GB: %v", id, sizeGB, errText(err))
	}
	return res
}

// mounting is a create request for a Machine that mounts volume id at /data.
func mounting(image, volumeID string) *models.CreateMachineRequest {
	req := createBody(image)
	req.Config.Mounts = []*models.FlyMachineMount{{Volume: volumeID, Path: "/data"}}
	return req
}

// TestVolumeMountedByRunningMachine: a volume mounted by a running Machine
// cannot be deleted (409) and grows only on the next boot (needs_restart);
// once the Machine is stopped, both are allowed.
func TestVolumeMountedByRunningMachine(t *testing.T) {
	en := newEnv(t)
	v := createVolume(t, en.c, testApp, &models.CreateVolumeRequest{Name: "data", Region: "ord"})
	if v.AttachedMachineID != "" {
		t.Fatalf("a new volume is attached to %q", v.AttachedMachineID)
	}
	m := en.create(mounting("nginx", v.ID))
	en.waitFor(m.ID, stateStarted)

	if got := en.volume(v.ID).AttachedMachineID; got != m.ID {
		t.Errorf("attached_machine_id = %q while mounted by running %s", got, m.ID)
	}
	list, err := en.c.Volumes.List(en.ctx, testApp, nil)
	if err != nil || len(list) != 1 || list[0].AttachedMachineID != m.ID {
		t.Errorf("list: attached_machine_id not shown: %v, %v", list, err)
	}

	_, err = en.deleteVolume(v.ID)
	wantStatus(t, "delete a volume mounted by a running Machine", err, http.StatusConflict)
	if msg := errorText(err); !strings.Contains(msg, m.ID) {
		t.Errorf("409 message %q does not name the Machine", msg)
	}
	if got := en.volume(v.ID); got.State != "created" || got.AttachedMachineID != m.ID {
		t.Errorf("after the refused delete: state %s, attached to %q", got.State, got.AttachedMachineID)
	}

	ext := en.extendVolume(v.ID, 3)
	if !ext.NeedsRestart || ext.Volume.SizeGb != 3 {
		t.Errorf("extend while running: needs_restart %v, size %d; want true, 3", ext.NeedsRestart, ext.Volume.SizeGb)
	}

	en.stop(m.ID)
	en.waitFor(m.ID, stateStopped)
	// A stopped Machine still has its volume attached; it just no longer
	// holds it open.
	if got := en.volume(v.ID).AttachedMachineID; got != m.ID {
		t.Errorf("attached_machine_id = %q after stop, want %s", got, m.ID)
	}
	if ext := en.extendVolume(v.ID, 4); ext.NeedsRestart || ext.Volume.SizeGb != 4 {
		t.Errorf("extend while stopped: needs_restart %v, size %d; want false, 4", ext.NeedsRestart, ext.Volume.SizeGb)
	}
	deleted, err := en.deleteVolume(v.ID)
	if err != nil {
		t.Fatalf("delete after stop: %v", errText(err))
	}
	if deleted.State != "destroyed" {
		t.Errorf("deleted volume in state %s", deleted.State)
	}
	_, err = en.c.Volumes.Show(en.ctx, testApp, v.ID)
	wantStatus(t, "show a deleted volume", err, http.StatusNotFound)
}

// TestVolumeAttachmentFollowsTheMachine: attached_machine_id names the
// mounting Machine through its life and clears when it is destroyed;
// Machines that do not mount the volume never show up.
func TestVolumeAttachmentFollowsTheMachine(t *testing.T) {
	en := newEnv(t)
	v := createVolume(t, en.c, testApp, &models.CreateVolumeRequest{Name: "data"})
	other := createVolume(t, en.c, testApp, &models.CreateVolumeRequest{Name: "other"})
	bystander := en.started("nginx") // mounts nothing

	// Created without launching: stopped, yet attached.
	req := mounting("nginx", v.ID)
	req.SkipLaunch = true
	m := en.create(req)
	en.waitFor(m.ID, stateStopped)
	if got := en.volume(v.ID).AttachedMachineID; got != m.ID {
		t.Errorf("attached_machine_id = %q for a stopped mounting Machine, want %s", got, m.ID)
	}
	if got := en.volume(other.ID).AttachedMachineID; got != "" {
		t.Errorf("an unmounted volume is attached to %q", got)
	}
	if got := en.volume(v.ID).AttachedMachineID; got == bystander.ID {
		t.Error("attached to a Machine that does not mount it")
	}
	// Not running: no needs_restart, and deletion is not refused for it.
	if ext := en.extendVolume(v.ID, 2); ext.NeedsRestart {
		t.Error("needs_restart for a volume whose Machine is stopped")
	}

	// Destroying the Machine frees the volume.
	if err := en.c.Machines.Delete(en.ctx, testApp, m.ID, nil); err != nil {
		t.Fatalf("destroy: %v", errText(err))
	}
	en.waitFor(m.ID, stateDestroyed)
	if got := en.volume(v.ID).AttachedMachineID; got != "" {
		t.Errorf("attached_machine_id = %q after the Machine was destroyed", got)
	}

	// A force-destroyed running Machine frees it too.
	running := en.create(mounting("nginx", other.ID))
	en.waitFor(running.ID, stateStarted)
	if _, err := en.deleteVolume(other.ID); codeOf(err) != http.StatusConflict {
		t.Fatalf("delete while mounted and running: %v", err)
	}
	if err := en.c.Machines.Delete(en.ctx, testApp, running.ID, &machines.DeleteParams{Force: true}); err != nil {
		t.Fatalf("force destroy: %v", errText(err))
	}
	en.waitFor(running.ID, stateDestroyed)
	if _, err := en.deleteVolume(other.ID); err != nil {
		t.Errorf("delete after the Machine was destroyed: %v", errText(err))
	}
}

// TestVolumeMountAcrossUpdate: an update that drops the mount frees the
// volume; one that adds it back attaches it again.
func TestVolumeMountAcrossUpdate(t *testing.T) {
	en := newEnv(t)
	v := createVolume(t, en.c, testApp, &models.CreateVolumeRequest{Name: "data"})
	m := en.create(mounting("nginx", v.ID))
	en.waitFor(m.ID, stateStarted)

	update := func(cfg *models.FlyMachineConfig) {
		t.Helper()
		if _, err := en.c.Machines.Update(en.ctx, testApp, m.ID, &models.UpdateMachineRequest{Config: cfg}, nil); err != nil {
			t.Fatalf("update: %v", errText(err))
		}
		en.waitFor(m.ID, stateStarted)
	}
	update(machineConfig("nginx"))
	if got := en.volume(v.ID).AttachedMachineID; got != "" {
		t.Errorf("attached to %q after an update dropped the mount", got)
	}
	if _, err := en.deleteVolume(v.ID); err != nil {
		// Deleting is fine now; recreate to go on.
		t.Fatalf("delete of a volume no longer mounted: %v", errText(err))
	}
	v = createVolume(t, en.c, testApp, &models.CreateVolumeRequest{Name: "data"})
	cfg := machineConfig("nginx")
	cfg.Mounts = []*models.FlyMachineMount{{Volume: v.ID, Path: "/data"}}
	update(cfg)
	if got := en.volume(v.ID).AttachedMachineID; got != m.ID {
		t.Errorf("attached to %q after an update added the mount, want %s", got, m.ID)
	}
	if ext := en.extendVolume(v.ID, 5); !ext.NeedsRestart {
		t.Error("extend after remounting: needs_restart false while running")
	}
}
