package flytest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/swag/conv"

	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/client/organizations"
	"github.com/flymachines/flymachines-go/client/volumes"
	"github.com/flymachines/flymachines-go/models"
)

func createVolume(t *testing.T, c *client.MachinesAPI, appName string, req *models.CreateVolumeRequest) *models.Volume {
	t.Helper()
	ok, err := c.Volumes.VolumesCreateContext(context.Background(), volumes.NewVolumesCreateParams().WithAppName(appName).WithBody(req), nil)
	if err != nil {
		t.Fatalf("create volume %s: %v", req.Name, err)
	}
	return ok.Payload
}

func TestVolumesLifecycle(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "vol-app")

	v := createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "data"})
	if !strings.HasPrefix(v.ID, "vol_") || v.State != "created" || v.Region != "ord" || v.Zone == "" {
		t.Errorf("created volume: %+v", v)
	}
	if v.SizeGb != 1 || !v.Encrypted || v.Fstype != "ext4" || v.SnapshotRetention != 5 || !v.AutoBackupEnabled {
		t.Errorf("defaults: size %d encrypted %v fstype %q retention %d auto backup %v", v.SizeGb, v.Encrypted, v.Fstype, v.SnapshotRetention, v.AutoBackupEnabled)
	}
	if v.BytesTotal != 1<<30 || v.BlockSize != 4096 || v.HostStatus != "ok" || v.AttachedMachineID != "" {
		t.Errorf("statistics: %+v", v)
	}

	shown, err := c.Volumes.VolumesGetByIDContext(ctx, volumes.NewVolumesGetByIDParams().WithAppName("vol-app").WithVolumeID(v.ID), nil)
	if err != nil || shown.Payload.ID != v.ID || shown.Payload.Name != "data" {
		t.Fatalf("show: %v, %v", shown, err)
	}

	updated, err := c.Volumes.VolumesUpdateContext(ctx, volumes.NewVolumesUpdateParams().WithAppName("vol-app").WithVolumeID(v.ID).
		WithBody(&models.UpdateVolumeRequest{SnapshotRetention: 10}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if updated.Payload.SnapshotRetention != 10 || !updated.Payload.AutoBackupEnabled {
		t.Errorf("update: retention %d, auto backup %v", updated.Payload.SnapshotRetention, updated.Payload.AutoBackupEnabled)
	}

	extended, err := c.Volumes.VolumesExtendContext(ctx, volumes.NewVolumesExtendParams().WithAppName("vol-app").WithVolumeID(v.ID).
		WithBody(&models.ExtendVolumeRequest{SizeGb: 3}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if extended.Payload.Volume.SizeGb != 3 || extended.Payload.NeedsRestart {
		t.Errorf("extend: %+v", extended.Payload)
	}
	for _, size := range []int64{3, 2} {
		_, err = c.Volumes.VolumesExtendContext(ctx, volumes.NewVolumesExtendParams().WithAppName("vol-app").WithVolumeID(v.ID).
			WithBody(&models.ExtendVolumeRequest{SizeGb: size}), nil)
		wantStatus(t, "extend to a size that is not larger", err, http.StatusBadRequest)
	}

	list, err := c.Volumes.VolumesListContext(ctx, volumes.NewVolumesListParams().WithAppName("vol-app"), nil)
	if err != nil || len(list.Payload) != 1 || list.FlyNextCursor != "" {
		t.Fatalf("list: %v, %v", list, err)
	}

	deleted, err := c.Volumes.VolumeDeleteContext(ctx, volumes.NewVolumeDeleteParams().WithAppName("vol-app").WithVolumeID(v.ID), nil)
	if err != nil || deleted.Payload.State != "destroyed" {
		t.Fatalf("delete: %v, %v", deleted, err)
	}
	_, err = c.Volumes.VolumesGetByIDContext(ctx, volumes.NewVolumesGetByIDParams().WithAppName("vol-app").WithVolumeID(v.ID), nil)
	wantStatus(t, "show after delete", err, http.StatusNotFound)
}

func TestVolumesNotFound(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "vol-app")
	const id = "vol_doesnotexist0000"
	calls := map[string]func() error{
		"Volumes_get_by_id": func() error {
			_, err := c.Volumes.VolumesGetByIDContext(ctx, volumes.NewVolumesGetByIDParams().WithAppName("vol-app").WithVolumeID(id), nil)
			return err
		},
		"Volumes_update": func() error {
			_, err := c.Volumes.VolumesUpdateContext(ctx, volumes.NewVolumesUpdateParams().WithAppName("vol-app").WithVolumeID(id).WithBody(&models.UpdateVolumeRequest{}), nil)
			return err
		},
		"Volumes_extend": func() error {
			_, err := c.Volumes.VolumesExtendContext(ctx, volumes.NewVolumesExtendParams().WithAppName("vol-app").WithVolumeID(id).WithBody(&models.ExtendVolumeRequest{SizeGb: 5}), nil)
			return err
		},
		"Volume_delete": func() error {
			_, err := c.Volumes.VolumeDeleteContext(ctx, volumes.NewVolumeDeleteParams().WithAppName("vol-app").WithVolumeID(id), nil)
			return err
		},
		"Volumes_list_snapshots": func() error {
			_, err := c.Volumes.VolumesListSnapshotsContext(ctx, volumes.NewVolumesListSnapshotsParams().WithAppName("vol-app").WithVolumeID(id), nil)
			return err
		},
		"createVolumeSnapshot": func() error {
			_, err := c.Volumes.CreateVolumeSnapshotContext(ctx, volumes.NewCreateVolumeSnapshotParams().WithAppName("vol-app").WithVolumeID(id), nil)
			return err
		},
		"Volumes_list of an unknown app": func() error {
			_, err := c.Volumes.VolumesListContext(ctx, volumes.NewVolumesListParams().WithAppName("no-such-app"), nil)
			return err
		},
	}
	for name, call := range calls {
		err := call()
		wantStatus(t, name, err, http.StatusNotFound)
		if errorText(err) == "" {
			t.Errorf("%s: 404 without an error message", name)
		}
	}
}

func TestVolumesCreateInvalid(t *testing.T) {
	_, c := newResourceClient(t)
	mustCreateApp(t, c, "vol-app")
	for _, tc := range []struct {
		name   string
		req    models.CreateVolumeRequest
		status int
	}{
		{"no name", models.CreateVolumeRequest{SizeGb: 1}, 400},
		{"bad name", models.CreateVolumeRequest{Name: "My-Data"}, 400},
		{"too big", models.CreateVolumeRequest{Name: "data", SizeGb: 501}, 400},
		{"negative size", models.CreateVolumeRequest{Name: "data", SizeGb: -1}, 400},
		{"retention", models.CreateVolumeRequest{Name: "data", SnapshotRetention: 61}, 400},
		{"fstype", models.CreateVolumeRequest{Name: "data", Fstype: "xfs"}, 400},
		{"region", models.CreateVolumeRequest{Name: "data", Region: "xxx"}, 400},
		{"snapshot and source", models.CreateVolumeRequest{Name: "data", SnapshotID: "vs_1", SourceVolumeID: "vol_1"}, 400},
		{"unknown snapshot", models.CreateVolumeRequest{Name: "data", SnapshotID: "vs_nope"}, 404},
		{"unknown source", models.CreateVolumeRequest{Name: "data", SourceVolumeID: "vol_nope"}, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Volumes.VolumesCreateContext(context.Background(), volumes.NewVolumesCreateParams().WithAppName("vol-app").WithBody(&tc.req), nil)
			wantStatus(t, "create", err, tc.status)
		})
	}
	list, err := c.Volumes.VolumesListContext(context.Background(), volumes.NewVolumesListParams().WithAppName("vol-app"), nil)
	if err != nil || len(list.Payload) != 0 {
		t.Errorf("a refused create left volumes behind: %v, %v", list, err)
	}
}

// TestVolumesExplicitFalse: encrypted and auto_backup_enabled default to
// true, and false is honoured when the body carries it. (The generated
// model cannot send false: it omits zero values.)
func TestVolumesExplicitFalse(t *testing.T) {
	srv, c := newResourceClient(t)
	mustCreateApp(t, c, "vol-app")
	status, body := rawCall(t, srv, http.MethodPost, "/v1/apps/vol-app/volumes", `{"name":"plain","encrypted":false,"auto_backup_enabled":false}`)
	var v models.Volume
	if err := json.Unmarshal([]byte(body), &v); err != nil || status != http.StatusOK {
		t.Fatalf("create: %d %s", status, body)
	}
	if v.Encrypted || v.AutoBackupEnabled {
		t.Errorf("explicit false ignored: encrypted %v, auto backup %v", v.Encrypted, v.AutoBackupEnabled)
	}

	// Update also takes an explicit false.
	put := func(body string) models.Volume {
		t.Helper()
		var out models.Volume
		if _, got := rawCall(t, srv, http.MethodPut, "/v1/apps/vol-app/volumes/"+v.ID, body); json.Unmarshal([]byte(got), &out) != nil {
			t.Fatalf("update: %s", got)
		}
		return out
	}
	if got := put(`{"auto_backup_enabled":true}`); !got.AutoBackupEnabled {
		t.Error("update to true ignored")
	}
	if got := put(`{"auto_backup_enabled":false}`); got.AutoBackupEnabled {
		t.Error("update to false ignored")
	}
}

func TestVolumesUniqueZone(t *testing.T) {
	_, c := newResourceClient(t)
	mustCreateApp(t, c, "vol-app")
	zones := map[string]bool{}
	for range zonesPerRegion {
		v := createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "pg", Region: "ams", RequireUniqueZone: conv.Pointer(true)})
		if zones[v.Zone] {
			t.Errorf("zone %s used twice", v.Zone)
		}
		zones[v.Zone] = true
	}
	_, err := c.Volumes.VolumesCreateContext(context.Background(), volumes.NewVolumesCreateParams().WithAppName("vol-app").
		WithBody(&models.CreateVolumeRequest{Name: "pg", Region: "ams", RequireUniqueZone: conv.Pointer(true)}), nil)
	var def *volumes.VolumesCreateDefault
	if !errors.As(err, &def) || def.Code() != http.StatusUnprocessableEntity || def.Payload.Status != models.MainStatusCodeVolumePlacementCapacity {
		t.Errorf("a fifth unique-zone volume: got %v, want 422 volume_placement_capacity", err)
	}
	// Without the requirement, or under another name, there is room.
	createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "pg", Region: "ams"})
	createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "other", Region: "ams", RequireUniqueZone: conv.Pointer(true)})
}

func TestVolumesListPaging(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "vol-app")
	var want []string
	for range 5 {
		want = append(want, createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "data"}).ID)
	}
	var got []string
	cursor := ""
	for range 10 {
		p := volumes.NewVolumesListParams().WithAppName("vol-app").WithLimit(conv.Pointer(int64(2))).WithSummary(conv.Pointer(true))
		if cursor != "" {
			p.SetCursor(&cursor)
		}
		page, err := c.Volumes.VolumesListContext(ctx, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Payload {
			if v.BlockSize != 0 || v.BytesTotal != 0 {
				t.Errorf("summary listing has statistics: %+v", v)
			}
			got = append(got, v.ID)
		}
		if cursor = page.FlyNextCursor; cursor == "" {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("paged through %v, want %v (creation order)", got, want)
	}
	_, err := c.Volumes.VolumesListContext(ctx, volumes.NewVolumesListParams().WithAppName("vol-app").WithCursor(conv.Pointer("garbage!")), nil)
	wantStatus(t, "list with a bad cursor", err, http.StatusBadRequest)
}

func TestVolumeSnapshotsRestoreAndFork(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "vol-app")
	v := createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "data", SizeGb: 4, Region: "fra"})

	snaps, err := c.Volumes.VolumesListSnapshotsContext(ctx, volumes.NewVolumesListSnapshotsParams().WithAppName("vol-app").WithVolumeID(v.ID), nil)
	if err != nil || len(snaps.Payload) != 0 {
		t.Fatalf("snapshots of a new volume: %v, %v", snaps, err)
	}
	if _, err := c.Volumes.CreateVolumeSnapshotContext(ctx, volumes.NewCreateVolumeSnapshotParams().WithAppName("vol-app").WithVolumeID(v.ID), nil); err != nil {
		t.Fatal(err)
	}
	snaps, err = c.Volumes.VolumesListSnapshotsContext(ctx, volumes.NewVolumesListSnapshotsParams().WithAppName("vol-app").WithVolumeID(v.ID), nil)
	if err != nil || len(snaps.Payload) != 1 {
		t.Fatalf("snapshots after one was taken: %v, %v", snaps, err)
	}
	s := snaps.Payload[0]
	if !strings.HasPrefix(s.ID, "vs_") || s.Status != "created" || s.VolumeSize != 4<<30 || s.RetentionDays != 5 || s.CreatedAt == "" {
		t.Errorf("snapshot: %+v", s)
	}

	restored := createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "data", SnapshotID: s.ID})
	if restored.SizeGb != 4 || restored.State != "hydrating" || restored.Region != "ord" {
		t.Errorf("restored: size %d state %s region %s", restored.SizeGb, restored.State, restored.Region)
	}
	waitVolumeState(t, c, "vol-app", restored.ID, "created")

	forked := createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "copy", SourceVolumeID: v.ID, SizeGb: 6})
	if forked.Region != "fra" || forked.SizeGb != 6 {
		t.Errorf("fork: region %s size %d", forked.Region, forked.SizeGb)
	}
	_, err = c.Volumes.VolumesCreateContext(ctx, volumes.NewVolumesCreateParams().WithAppName("vol-app").
		WithBody(&models.CreateVolumeRequest{Name: "copy", SourceVolumeID: v.ID, SizeGb: 2}), nil)
	wantStatus(t, "fork smaller than the source", err, http.StatusBadRequest)
}

func waitVolumeState(t *testing.T, c *client.MachinesAPI, appName, id, state string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got, err := c.Volumes.VolumesGetByIDContext(context.Background(), volumes.NewVolumesGetByIDParams().WithAppName(appName).WithVolumeID(id), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Payload.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("volume %s stayed %s, want %s", id, got.Payload.State, state)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestVolumesOrgList(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateAppIn(t, c, "app-one", "acme")
	mustCreateAppIn(t, c, "app-two", "acme")
	mustCreateAppIn(t, c, "app-else", "other")
	createVolume(t, c, "app-one", &models.CreateVolumeRequest{Name: "a", Region: "ams"})
	createVolume(t, c, "app-two", &models.CreateVolumeRequest{Name: "b", Region: "ord"})
	createVolume(t, c, "app-two", &models.CreateVolumeRequest{Name: "c", Region: "ams"})
	createVolume(t, c, "app-else", &models.CreateVolumeRequest{Name: "d", Region: "ams"})

	list := func(p *organizations.VolumesOrgListParams) *models.OrgVolumesResponse {
		t.Helper()
		ok, err := c.Organizations.VolumesOrgListContext(ctx, p.WithOrgSlug("acme"), nil)
		if err != nil {
			t.Fatal(err)
		}
		return ok.Payload
	}
	all := list(organizations.NewVolumesOrgListParams())
	if len(all.Volumes) != 3 || all.NextCursor != "" {
		t.Fatalf("org list: %d volumes, cursor %q", len(all.Volumes), all.NextCursor)
	}
	apps := map[string]int{}
	for _, v := range all.Volumes {
		apps[v.AppName]++
	}
	if apps["app-one"] != 1 || apps["app-two"] != 2 {
		t.Errorf("apps of the volumes: %v", apps)
	}
	if all.LastVolumeID != all.Volumes[2].ID || all.LastUpdatedAt == "" {
		t.Errorf("last volume %q at %q", all.LastVolumeID, all.LastUpdatedAt)
	}

	if ams := list(organizations.NewVolumesOrgListParams().WithRegion(conv.Pointer("ams"))); len(ams.Volumes) != 2 {
		t.Errorf("region filter: %d volumes", len(ams.Volumes))
	}
	if none := list(organizations.NewVolumesOrgListParams().WithState(conv.Pointer("destroyed"))); len(none.Volumes) != 0 {
		t.Errorf("state filter: %d volumes", len(none.Volumes))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if later := list(organizations.NewVolumesOrgListParams().WithUpdatedAfter(&future)); len(later.Volumes) != 0 {
		t.Errorf("updated_after in the future: %d volumes", len(later.Volumes))
	}

	var ids []string
	p := organizations.NewVolumesOrgListParams().WithLimit(conv.Pointer(int64(2)))
	for range 5 {
		page := list(p)
		for _, v := range page.Volumes {
			ids = append(ids, v.ID)
		}
		if page.NextCursor == "" {
			break
		}
		p = organizations.NewVolumesOrgListParams().WithLimit(conv.Pointer(int64(2))).WithCursor(&page.NextCursor)
	}
	if len(ids) != 3 {
		t.Errorf("paged through %d volumes, want 3", len(ids))
	}

	_, err := c.Organizations.VolumesOrgListContext(ctx, organizations.NewVolumesOrgListParams().WithOrgSlug("acme").WithUpdatedAfter(conv.Pointer("yesterday")), nil)
	wantStatus(t, "bad updated_after", err, http.StatusBadRequest)
}
