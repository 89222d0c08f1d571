package flytest

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// orgVolume is a volume with the app it belongs to, for the org listing.
type orgVolume struct {
	app *app
	vol *volume
}

// volumesOrgList lists the volumes of every app of an org, oldest change
// first. Its cursor is a position in that order (the updated_at and creation
// number of the last volume seen), so a volume changed between two pages
// moves to the end instead of shifting the pages.
func (e *Emulator) volumesOrgList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, ok := pageLimit(w, r)
	if !ok {
		return
	}
	var after orgVolumeKey
	if c := q.Get("cursor"); c != "" {
		k, err := parseOrgVolumeCursor(c)
		if err != nil {
			invalid(w, "cursor %q is not one this server issued", c)
			return
		}
		after = k
	} else if s := q.Get("updated_after"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			invalid(w, "updated_after must be an RFC 3339 time, got %q", s)
			return
		}
		// Strictly after t: skip everything updated at t itself.
		after = orgVolumeKey{updated: t, seq: 1<<63 - 1}
	}
	region, state := q.Get("region"), q.Get("state")
	summary := q.Get("summary") == "true"
	org := r.PathValue("org_slug")

	e.mu.Lock()
	defer e.mu.Unlock()
	var all []orgVolume
	for _, a := range e.st.apps {
		if a.org != org {
			continue
		}
		for _, v := range a.volumes {
			if region != "" && v.region != region {
				continue
			}
			if !volumeStateMatches(v.state, state) {
				continue
			}
			if !after.before(v) {
				continue
			}
			all = append(all, orgVolume{a, v})
		}
	}
	slices.SortFunc(all, func(x, y orgVolume) int {
		return cmp.Or(x.vol.updatedAt.Compare(y.vol.updatedAt), cmp.Compare(x.vol.seq, y.vol.seq))
	})
	page := all[:min(limit, len(all))]
	resp := models.OrgVolumesResponse{Volumes: make([]*models.OrgVolume, 0, len(page))}
	for _, ov := range page {
		resp.Volumes = append(resp.Volumes, ov.vol.orgModel(ov.app, summary))
	}
	if n := len(page); n > 0 {
		last := page[n-1].vol
		resp.LastUpdatedAt = wireTime(last.updatedAt)
		resp.LastVolumeID = last.id
		if n < len(all) {
			resp.NextCursor = orgVolumeKey{updated: last.updatedAt, seq: last.seq}.cursor()
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// pageLimit reads limit the way pageParams does, without a cursor.
func pageLimit(w http.ResponseWriter, r *http.Request) (limit int, ok bool) {
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			invalid(w, "limit must be a non-negative integer, got %q", s)
			return 0, false
		}
		limit = n
	}
	if limit == 0 || limit > maxPage {
		limit = maxPage
	}
	return limit, true
}

// orgVolumeKey is a position in the org listing's order.
type orgVolumeKey struct {
	updated time.Time
	seq     int64
}

// before reports whether v comes after the position k. The zero key comes
// before every volume.
func (k orgVolumeKey) before(v *volume) bool {
	if k.updated.IsZero() && k.seq == 0 {
		return true
	}
	if c := v.updatedAt.Compare(k.updated); c != 0 {
		return c > 0
	}
	return v.seq > k.seq
}

func (k orgVolumeKey) cursor() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d.%d", k.updated.UnixNano(), k.seq))
}

func parseOrgVolumeCursor(c string) (orgVolumeKey, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return orgVolumeKey{}, err
	}
	var nanos, seq int64
	if _, err := fmt.Sscanf(string(raw), "%d.%d", &nanos, &seq); err != nil {
		return orgVolumeKey{}, err
	}
	return orgVolumeKey{updated: time.Unix(0, nanos), seq: seq}, nil
}

func (v *volume) orgModel(a *app, summary bool) *models.OrgVolume {
	m := v.model(a, summary)
	return &models.OrgVolume{
		AppName: a.name, UpdatedAt: wireTime(v.updatedAt),
		ID: m.ID, Name: m.Name, Region: m.Region, Zone: m.Zone, State: m.State,
		SizeGb: m.SizeGb, Encrypted: m.Encrypted, Fstype: m.Fstype,
		SnapshotRetention: m.SnapshotRetention, AutoBackupEnabled: m.AutoBackupEnabled,
		CreatedAt: m.CreatedAt, HostStatus: m.HostStatus, Type: m.Type,
		AttachedMachineID: m.AttachedMachineID, AttachedAllocID: m.AttachedAllocID,
		HostFeatures: m.HostFeatures, RequiredHostFeatures: m.RequiredHostFeatures,
		BlockSize: m.BlockSize, Blocks: m.Blocks, BlocksAvail: m.BlocksAvail, BlocksFree: m.BlocksFree,
		BytesTotal: m.BytesTotal, BytesUsed: m.BytesUsed,
	}
}
