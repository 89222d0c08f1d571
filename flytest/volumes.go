package flytest

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// Limits the API applies to volumes.
const (
	maxVolumeGB              = 500
	defaultVolumeGB          = 1
	defaultSnapshotRetention = 5
	maxSnapshotRetention     = 60
	zonesPerRegion           = 4
	gib                      = 1 << 30
	volumeBlockSize          = 4096
)

// volumeNamePattern is what Fly accepts as a volume name.
var volumeNamePattern = regexp.MustCompile(`^[a-z0-9_]{1,30}$`)

// volume is one volume. Guarded by Emulator.mu.
type volume struct {
	id, name, region, zone string
	fstype                 string
	state                  string // created, hydrating (from a snapshot or fork), destroyed
	sizeGB                 int64
	usedBytes              int64
	snapshotRetention      int64
	encrypted, autoBackup  bool
	requiredHostFeatures   []string
	seq                    int64 // creation order, for stable listings
	createdAt, updatedAt   time.Time
	snapshots              []*volumeSnapshot
}

// volumeSnapshot is one snapshot of a volume.
type volumeSnapshot struct {
	id, digest, status string
	sizeBytes          int64 // data in the snapshot
	volumeSizeBytes    int64 // size of the volume it was taken from
	retentionDays      int64
	createdAt          time.Time
}

func (e *Emulator) volumesCreate(w http.ResponseWriter, r *http.Request) {
	var req models.CreateVolumeRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	switch {
	case !volumeNamePattern.MatchString(req.Name):
		invalid(w, "volume name %q must be 1-30 lowercase letters, digits or underscores", req.Name)
		return
	case req.SizeGb < 0 || req.SizeGb > maxVolumeGB:
		invalid(w, "size_gb must be between 1 and %d, got %d", maxVolumeGB, req.SizeGb)
		return
	case req.SnapshotRetention < 0 || req.SnapshotRetention > maxSnapshotRetention:
		invalid(w, "snapshot_retention must be between 1 and %d days, got %d", maxSnapshotRetention, req.SnapshotRetention)
		return
	case req.Fstype != "" && req.Fstype != "ext4" && req.Fstype != "raw":
		invalid(w, "fstype must be ext4 or raw, got %q", req.Fstype)
		return
	case req.SnapshotID != "" && req.SourceVolumeID != "":
		invalid(w, "give snapshot_id or source_volume_id, not both")
		return
	case req.Region != "" && !e.regionKnown(req.Region):
		invalid(w, "region %q is not a platform region", req.Region)
		return
	}
	// Absent means true for both; the models carry *bool so false arrives.
	encrypted, autoBackup := boolOr(req.Encrypted, true), boolOr(req.AutoBackupEnabled, true)

	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	size, region := req.SizeGb, req.Region
	var used int64
	hydrate := false
	switch {
	case req.SourceVolumeID != "":
		src := a.volumes[req.SourceVolumeID]
		if src == nil {
			notFound(w, "source volume %s not found in app %s", req.SourceVolumeID, a.name)
			return
		}
		if region == "" {
			region = src.region
		} else if region != src.region {
			invalid(w, "a fork stays in the region of its source volume (%s), not %s", src.region, region)
			return
		}
		if size == 0 {
			size = src.sizeGB
		} else if size < src.sizeGB {
			invalid(w, "size_gb %d is smaller than the source volume's %d GB", size, src.sizeGB)
			return
		}
		used, hydrate = src.usedBytes, true
	case req.SnapshotID != "":
		snap := a.findSnapshot(req.SnapshotID)
		if snap == nil {
			notFound(w, "snapshot %s not found in app %s", req.SnapshotID, a.name)
			return
		}
		snapGB := (snap.volumeSizeBytes + gib - 1) / gib
		if size == 0 {
			size = snapGB
		} else if size < snapGB {
			invalid(w, "size_gb %d is smaller than the snapshot's volume (%d GB)", size, snapGB)
			return
		}
		used, hydrate = snap.sizeBytes, true
	}
	if region == "" {
		region = e.cfg.defaultRegion
	}
	if size == 0 {
		size = defaultVolumeGB
	}
	zone, ok := a.pickZone(region, req.Name, boolOr(req.RequireUniqueZone, false), boolOr(req.UniqueZoneAppWide, false))
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, string(models.MainStatusCodeVolumePlacementCapacity),
			fmt.Sprintf("no zone in region %s is free of volumes named %s: every zone already holds one (require_unique_zone)", region, req.Name))
		return
	}
	now := e.cfg.clock.Now()
	v := &volume{
		id: "vol_" + randomAlnum(16), name: req.Name, region: region, zone: zone,
		fstype: cmp.Or(req.Fstype, "ext4"), state: "created", sizeGB: size, usedBytes: used,
		snapshotRetention: cmp.Or(req.SnapshotRetention, defaultSnapshotRetention),
		encrypted:         encrypted, autoBackup: autoBackup,
		seq: e.st.newNum(), createdAt: now, updatedAt: now,
	}
	if req.Compute != nil {
		v.requiredHostFeatures = slices.Clone(req.Compute.RequiredHostFeatures)
	}
	if hydrate {
		v.state = "hydrating"
		e.after(e.cfg.transitionDelay, func() {
			if v.state == "hydrating" {
				v.state = "created"
				v.updatedAt = e.cfg.clock.Now()
			}
		})
	}
	a.volumes[v.id] = v
	writeJSON(w, http.StatusOK, v.answer(a, false))
}

func (e *Emulator) volumesList(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := pageParams(w, r)
	if !ok {
		return
	}
	summary := r.URL.Query().Get("summary") == "true"
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	vols := a.sortedVolumes()
	page, next := paginate(vols, limit, offset)
	out := make([]object, 0, len(page))
	for _, v := range page {
		out = append(out, v.answer(a, summary))
	}
	if next != "" {
		w.Header().Set("fly-next-cursor", next)
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) volumesGetById(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, v := e.lookupVolume(w, r)
	if v == nil {
		return
	}
	writeJSON(w, http.StatusOK, v.answer(a, false))
}

func (e *Emulator) volumesUpdate(w http.ResponseWriter, r *http.Request) {
	var req models.UpdateVolumeRequest
	raw, ok := decodeBodyRaw(w, r, &req, false)
	if !ok {
		return
	}
	fields := rawFields(raw)
	if _, sent := fields["snapshot_retention"]; sent && (req.SnapshotRetention < 1 || req.SnapshotRetention > maxSnapshotRetention) {
		invalid(w, "snapshot_retention must be between 1 and %d days, got %d", maxSnapshotRetention, req.SnapshotRetention)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, v := e.lookupVolume(w, r)
	if v == nil {
		return
	}
	if req.SnapshotRetention != 0 {
		v.snapshotRetention = req.SnapshotRetention
	}
	if req.AutoBackupEnabled != nil {
		v.autoBackup = *req.AutoBackupEnabled
	}
	v.updatedAt = e.cfg.clock.Now()
	writeJSON(w, http.StatusOK, v.answer(a, false))
}

func (e *Emulator) volumesExtend(w http.ResponseWriter, r *http.Request) {
	var req models.ExtendVolumeRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	if req.SizeGb <= 0 || req.SizeGb > maxVolumeGB {
		invalid(w, "size_gb must be between 1 and %d, got %d", maxVolumeGB, req.SizeGb)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, v := e.lookupVolume(w, r)
	if v == nil {
		return
	}
	if req.SizeGb <= v.sizeGB {
		invalid(w, "volumes only grow: size_gb %d must exceed the current %d GB", req.SizeGb, v.sizeGB)
		return
	}
	v.sizeGB = req.SizeGb
	v.updatedAt = e.cfg.clock.Now()
	// A running Machine keeps its filesystem at the old size until restarted.
	_, running := a.volumeHolder(v.id)
	writeJSON(w, http.StatusOK, object{}.set("needs_restart", running).set("volume", v.answer(a, false)))
}

func (e *Emulator) volumeDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, v := e.lookupVolume(w, r)
	if v == nil {
		return
	}
	if id, running := a.volumeHolder(v.id); running {
		writeError(w, http.StatusConflict, "", fmt.Sprintf("volume %s is attached to running machine %s: stop or destroy the machine before deleting the volume", v.id, id))
		return
	}
	delete(a.volumes, v.id)
	v.state = "destroyed"
	v.updatedAt = e.cfg.clock.Now()
	writeJSON(w, http.StatusOK, v.answer(a, false))
}

func (e *Emulator) volumesListSnapshots(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, v := e.lookupVolume(w, r)
	if v == nil {
		return
	}
	out := make([]object, 0, len(v.snapshots))
	for _, s := range v.snapshots {
		out = append(out, snapshotAnswer(&models.VolumeSnapshot{
			ID: s.id, CreatedAt: wireTime(s.createdAt), Digest: s.digest, Status: s.status,
			Size: s.sizeBytes, VolumeSize: s.volumeSizeBytes, RetentionDays: s.retentionDays,
		}))
	}
	writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) createVolumeSnapshot(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, v := e.lookupVolume(w, r)
	if v == nil {
		return
	}
	v.snapshots = append(v.snapshots, &volumeSnapshot{
		id: "vs_" + randomAlnum(16), digest: randomHex(16), status: "created",
		sizeBytes: v.usedBytes, volumeSizeBytes: v.sizeGB * gib, retentionDays: v.snapshotRetention,
		createdAt: e.cfg.clock.Now(),
	})
	w.WriteHeader(http.StatusOK)
}

// lookupVolume finds the {volume_id} of the {app_name}, or answers 404.
// Call with e.mu held.
func (e *Emulator) lookupVolume(w http.ResponseWriter, r *http.Request) (*app, *volume) {
	a := e.lookupApp(w, r)
	if a == nil {
		return nil, nil
	}
	id := r.PathValue("volume_id")
	v := a.volumes[id]
	if v == nil {
		notFound(w, "volume %s not found in app %s", id, a.name)
		return a, nil
	}
	return a, v
}

// sortedVolumes returns the app's volumes in creation order.
func (a *app) sortedVolumes() []*volume {
	vols := make([]*volume, 0, len(a.volumes))
	for _, v := range a.volumes {
		vols = append(vols, v)
	}
	slices.SortFunc(vols, func(x, y *volume) int { return cmp.Compare(x.seq, y.seq) })
	return vols
}

// volumeHolder returns the Machine whose config mounts volume id (the one
// with the smallest id if, wrongly, several do), and whether a Machine that
// mounts it is running.
func (a *app) volumeHolder(id string) (machineID string, running bool) {
	ids := make([]string, 0, len(a.machines))
	for mid, m := range a.machines {
		if m.mountsVolume(id) {
			ids = append(ids, mid)
		}
	}
	slices.Sort(ids)
	for _, mid := range ids {
		if a.machines[mid].running() {
			return mid, true
		}
	}
	if len(ids) > 0 {
		return ids[0], false
	}
	return "", false
}

// findSnapshot finds a snapshot of any of the app's volumes.
func (a *app) findSnapshot(id string) *volumeSnapshot {
	for _, v := range a.volumes {
		for _, s := range v.snapshots {
			if s.id == id {
				return s
			}
		}
	}
	return nil
}

// regionZones returns the hardware zones of a region: a fixed set per region.
func regionZones(region string) []string {
	zones := make([]string, zonesPerRegion)
	for i := range zones {
		h := fnv.New32a()
		fmt.Fprintf(h, "%s/%d", region, i)
		zones[i] = fmt.Sprintf("%04x", h.Sum32()&0xffff)
	}
	return zones
}

// pickZone places a new volume in region: the zone holding the fewest of
// the app's volumes there. With unique, zones that already hold a volume of
// the same name (of any name with appWide) are skipped; ok is false when
// none is left.
func (a *app) pickZone(region, name string, unique, appWide bool) (zone string, ok bool) {
	load := map[string]int{}
	taken := map[string]bool{}
	for _, v := range a.volumes {
		if v.region != region {
			continue
		}
		load[v.zone]++
		if v.name == name || appWide {
			taken[v.zone] = true
		}
	}
	best := -1
	for _, z := range regionZones(region) {
		if unique && taken[z] {
			continue
		}
		if best < 0 || load[z] < best {
			zone, best = z, load[z]
		}
	}
	return zone, best >= 0
}

// answer is the volume as the API sends it (volumeAnswer).
func (v *volume) answer(a *app, summary bool) object { return volumeAnswer(v.model(a, summary)) }

func (v *volume) model(a *app, summary bool) *models.Volume {
	holder, _ := a.volumeHolder(v.id)
	m := &models.Volume{
		ID: v.id, Name: v.name, Region: v.region, Zone: v.zone, State: v.state,
		SizeGb: v.sizeGB, Encrypted: v.encrypted, Fstype: v.fstype,
		SnapshotRetention: v.snapshotRetention, AutoBackupEnabled: v.autoBackup,
		CreatedAt: wireTime(v.createdAt), HostStatus: "ok", Type: "local",
		AttachedMachineID:    holder,
		HostFeatures:         []string{},
		RequiredHostFeatures: append([]string{}, v.requiredHostFeatures...),
	}
	if !summary {
		m.BlockSize = volumeBlockSize
		m.Blocks = v.sizeGB * gib / volumeBlockSize
		m.BytesTotal = v.sizeGB * gib
		m.BytesUsed = v.usedBytes
		m.BlocksFree = m.Blocks - (v.usedBytes+volumeBlockSize-1)/volumeBlockSize
		m.BlocksAvail = m.BlocksFree
	}
	return m
}

// volumeStateMatches reports whether a volume's state matches a state filter,
// which may list several states separated by commas.
func volumeStateMatches(state, filter string) bool {
	if filter == "" {
		return true
	}
	return slices.Contains(strings.Split(filter, ","), state)
}
