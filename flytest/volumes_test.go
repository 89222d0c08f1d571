package flytest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/client/ops"
	"github.com/flymachines/flymachines-go/client/orgs"
	"github.com/flymachines/flymachines-go/client/volumes"
	"github.com/flymachines/flymachines-go/models"
)

func createVolume(t *testing.T, c *client.API, appName string, req *models.CreateVolumeRequest) *models.Volume {
	t.Helper()
	v, err := c.Volumes.Create(context.Background(), appName, req)
	if err != nil {
		t.Fatalf("create volume %s: %v", req.Name, err)
	}
	return v
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

	shown, err := c.Volumes.Show(ctx, "vol-app", v.ID)
	if err != nil || shown.ID != v.ID || shown.Name != "data" {
		t.Fatalf("show: %v, %v", shown, err)
	}

	updated, err := c.Volumes.Update(ctx, "vol-app", v.ID, &models.UpdateVolumeRequest{SnapshotRetention: 10})
	if err != nil {
		t.Fatal(err)
	}
	if updated.SnapshotRetention != 10 || !updated.AutoBackupEnabled {
		t.Errorf("update: retention %d, auto backup %v", updated.SnapshotRetention, updated.AutoBackupEnabled)
	}

	extended, err := c.Volumes.Extend(ctx, "vol-app", v.ID, &models.ExtendVolumeRequest{SizeGb: 3})
	if err != nil {
		t.Fatal(err)
	}
	if extended.Volume.SizeGb != 3 || extended.NeedsRestart {
		t.Errorf("extend: %+v", extended)
	}
	for _, size := range []int64{3, 2} {
		_, err = c.Volumes.Extend(ctx, "vol-app", v.ID, &models.ExtendVolumeRequest{SizeGb: size})
		wantStatus(t, "extend to a size that is not larger", err, http.StatusBadRequest)
	}

	var meta call.Meta
	list, err := c.Volumes.List(ctx, "vol-app", nil, call.Capture(&meta))
	if err != nil || len(list) != 1 || meta.NextCursor() != "" {
		t.Fatalf("list: %v, %v", list, err)
	}

	deleted, err := c.Volumes.Delete(ctx, "vol-app", v.ID)
	if err != nil || deleted.State != "destroyed" {
		t.Fatalf("delete: %v, %v", deleted, err)
	}
	_, err = c.Volumes.Show(ctx, "vol-app", v.ID)
	wantStatus(t, "show after delete", err, http.StatusNotFound)
}

// TestVolumesNotFound: every operation on a volume (its path names
// {volume_id}) answers 404 with an error message for a volume that does
// not exist, as does the list of an unknown app.
func TestVolumesNotFound(t *testing.T) {
	srv, c := newResourceClient(t)
	mustCreateApp(t, c, "vol-app")
	// The bodies the operations check before they look the volume up.
	bodies := map[string]string{
		ops.VolumesUpdate: `{}`,
		ops.VolumesExtend: `{"size_gb":5}`,
	}
	n := 0
	for _, op := range ops.All() {
		if !strings.Contains(op.Path, "{volume_id}") {
			continue
		}
		n++
		values := placeholders("vol-app", "m")
		values["volume_id"] = "vol_doesnotexist0000"
		ans := sendOp(t, srv, op, opRequest{values: values, body: bodies[op.ID]})
		if ans.status != http.StatusNotFound || ans.errorText() == "" {
			t.Errorf("%s: HTTP %d %s, want 404 with an error", op.ID, ans.status, ans.body)
		}
	}
	if n == 0 {
		t.Error("the facts table has no operation on a volume")
	}
	_, err := c.Volumes.List(context.Background(), "no-such-app", nil)
	wantStatus(t, "Volumes_list of an unknown app", err, http.StatusNotFound)
	if errorText(err) == "" {
		t.Error("Volumes_list of an unknown app: 404 without an error message")
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
			_, err := c.Volumes.Create(context.Background(), "vol-app", &tc.req)
			wantStatus(t, "create", err, tc.status)
		})
	}
	list, err := c.Volumes.List(context.Background(), "vol-app", nil)
	if err != nil || len(list) != 0 {
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
		v := createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "pg", Region: "ams", RequireUniqueZone: new(true)})
		if zones[v.Zone] {
			t.Errorf("zone %s used twice", v.Zone)
		}
		zones[v.Zone] = true
	}
	_, err := c.Volumes.Create(context.Background(), "vol-app", &models.CreateVolumeRequest{Name: "pg", Region: "ams", RequireUniqueZone: new(true)})
	if b := errorBody(err); codeOf(err) != http.StatusUnprocessableEntity || b == nil || b.Status != models.MainStatusCodeVolumePlacementCapacity {
		t.Errorf("a fifth unique-zone volume: got %v, want 422 volume_placement_capacity", err)
	}
	// Without the requirement, or under another name, there is room.
	createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "pg", Region: "ams"})
	createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "other", Region: "ams", RequireUniqueZone: new(true)})
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
		var meta call.Meta
		page, err := c.Volumes.List(ctx, "vol-app", &volumes.ListParams{Limit: 2, Summary: true, Cursor: cursor}, call.Capture(&meta))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page {
			if v.BlockSize != 0 || v.BytesTotal != 0 {
				t.Errorf("summary listing has statistics: %+v", v)
			}
			got = append(got, v.ID)
		}
		if cursor = meta.NextCursor(); cursor == "" {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("paged through %v, want %v (creation order)", got, want)
	}
	_, err := c.Volumes.List(ctx, "vol-app", &volumes.ListParams{Cursor: "garbage!"})
	wantStatus(t, "list with a bad cursor", err, http.StatusBadRequest)
}

func TestVolumeSnapshotsRestoreAndFork(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "vol-app")
	v := createVolume(t, c, "vol-app", &models.CreateVolumeRequest{Name: "data", SizeGb: 4, Region: "fra"})

	snaps, err := c.Volumes.ListSnapshots(ctx, "vol-app", v.ID)
	if err != nil || len(snaps) != 0 {
		t.Fatalf("snapshots of a new volume: %v, %v", snaps, err)
	}
	if err := c.Volumes.CreateSnapshot(ctx, "vol-app", v.ID); err != nil {
		t.Fatal(err)
	}
	snaps, err = c.Volumes.ListSnapshots(ctx, "vol-app", v.ID)
	if err != nil || len(snaps) != 1 {
		t.Fatalf("snapshots after one was taken: %v, %v", snaps, err)
	}
	s := snaps[0]
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
	_, err = c.Volumes.Create(ctx, "vol-app", &models.CreateVolumeRequest{Name: "copy", SourceVolumeID: v.ID, SizeGb: 2})
	wantStatus(t, "fork smaller than the source", err, http.StatusBadRequest)
}

func waitVolumeState(t *testing.T, c *client.API, appName, id, state string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got, err := c.Volumes.Show(context.Background(), appName, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("volume %s stayed %s, want %s", id, got.State, state)
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

	list := func(p *orgs.ListVolumesParams) *models.OrgVolumesResponse {
		t.Helper()
		res, err := c.Orgs.ListVolumes(ctx, "acme", p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	all := list(nil)
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

	if ams := list(&orgs.ListVolumesParams{Region: "ams"}); len(ams.Volumes) != 2 {
		t.Errorf("region filter: %d volumes", len(ams.Volumes))
	}
	if none := list(&orgs.ListVolumesParams{State: "destroyed"}); len(none.Volumes) != 0 {
		t.Errorf("state filter: %d volumes", len(none.Volumes))
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if later := list(&orgs.ListVolumesParams{UpdatedAfter: future}); len(later.Volumes) != 0 {
		t.Errorf("updated_after in the future: %d volumes", len(later.Volumes))
	}

	var ids []string
	p := &orgs.ListVolumesParams{Limit: 2}
	for range 5 {
		page := list(p)
		for _, v := range page.Volumes {
			ids = append(ids, v.ID)
		}
		if page.NextCursor == "" {
			break
		}
		p = &orgs.ListVolumesParams{Limit: 2, Cursor: page.NextCursor}
	}
	if len(ids) != 3 {
		t.Errorf("paged through %d volumes, want 3", len(ids))
	}

	_, err := c.Orgs.ListVolumes(ctx, "acme", &orgs.ListVolumesParams{UpdatedAfter: "yesterday"})
	wantStatus(t, "bad updated_after", err, http.StatusBadRequest)
}
