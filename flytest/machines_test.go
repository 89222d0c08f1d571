package flytest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/client/orgs"
	"github.com/flymachines/flymachines-go/models"
)

func TestMachineCreateDefaults(t *testing.T) {
	en := newEnv(t)
	m := en.create(createBody("nginx:1.27"))

	if !machineIDPattern.MatchString(m.ID) {
		t.Errorf("id %q is not 14 hex digits", m.ID)
	}
	if !ulidPattern.MatchString(m.Version) || m.InstanceID != m.Version {
		t.Errorf("version %q, instance_id %q: want one 26-character ULID", m.Version, m.InstanceID)
	}
	if m.Name == "" || m.Region != "ord" || !strings.HasPrefix(m.PrivateIP, "fdaa:") {
		t.Errorf("name %q region %q private_ip %q", m.Name, m.Region, m.PrivateIP)
	}
	if m.State != stateCreated {
		t.Errorf("state right after create: %s, want created", m.State)
	}
	g := m.Config.Guest
	if g == nil || g.CPUKind != "shared" || g.Cpus != 1 || g.MemoryMb != 256 {
		t.Errorf("guest defaults: %+v", g)
	}
	if m.ImageRef == nil || m.ImageRef.Repository != "library/nginx" || m.ImageRef.Tag != "1.27" || !strings.HasPrefix(m.ImageRef.Digest, "sha256:") {
		t.Errorf("image_ref: %+v", m.ImageRef)
	}
	if m.Config.Restart != nil {
		t.Errorf("config.restart was filled in: %+v; clients must read back what they sent", m.Config.Restart)
	}

	en.waitFor(m.ID, stateStarted)
	var got []string
	for _, ev := range en.events(m.ID) {
		got = append(got, ev.Type+"/"+ev.Status+"/"+ev.Source)
	}
	want := []string{"start/started/flyd", "start/starting/flyd", "launch/created/user"}
	if !slices.Equal(got, want) {
		t.Errorf("events newest first: %v, want %v", got, want)
	}
}

func TestMachineCreateOptions(t *testing.T) {
	en := newEnv(t)
	req := createBody("registry.fly.io/my-app:deployment-1")
	req.Name, req.Region, req.SkipLaunch = "worker-1", "ams", true
	req.Config.Size = "performance-2x"
	req.Config.Metadata = map[string]string{"role": "worker"}
	m := en.create(req)
	if m.Name != "worker-1" || m.Region != "ams" || m.State != stateStopped {
		t.Errorf("name %q region %q state %q; want worker-1, ams, stopped (skip_launch)", m.Name, m.Region, m.State)
	}
	if g := m.Config.Guest; g.CPUKind != "performance" || g.Cpus != 2 || g.MemoryMb != 4096 {
		t.Errorf("size performance-2x gave guest %+v", g)
	}
	if m.ImageRef.Registry != "registry.fly.io" || m.ImageRef.Repository != "my-app" || m.ImageRef.Tag != "deployment-1" {
		t.Errorf("image_ref: %+v", m.ImageRef)
	}
	if m.Config.Metadata["role"] != "worker" {
		t.Errorf("metadata: %v", m.Config.Metadata)
	}
}

func TestMachineCreateValidation(t *testing.T) {
	en := newEnv(t)
	withGuest := func(kind string, cpus, mem int64) *models.CreateMachineRequest {
		req := createBody("nginx")
		req.Config.Guest = &models.FlyMachineGuest{CPUKind: kind, Cpus: cpus, MemoryMb: mem}
		return req
	}
	named := func(name string) *models.CreateMachineRequest {
		req := createBody("nginx")
		req.Name = name
		return req
	}
	inRegion := func(region string) *models.CreateMachineRequest {
		req := createBody("nginx")
		req.Region = region
		return req
	}
	badPolicy := createBody("nginx")
	badPolicy.Config.Restart = &models.FlyMachineRestart{Policy: "sometimes"}
	badSize := createBody("nginx")
	badSize.Config.Size = "huge"
	en.create(named("taken"))

	cases := []struct {
		name     string
		app      string
		body     *models.CreateMachineRequest
		wantCode int
		wantErr  string
	}{
		{"no image", testApp, createBody(""), 400, "invalid_argument: config.image is required"},
		{"unknown region", testApp, inRegion("xyz"), 400, "invalid_argument: region"},
		{"memory too small", testApp, withGuest("shared", 1, 128), 400, "memory_mb"},
		{"memory not a multiple of 256", testApp, withGuest("shared", 1, 300), 400, "memory_mb"},
		{"too much memory for shared", testApp, withGuest("shared", 1, 4096), 400, "memory_mb"},
		{"odd cpu count", testApp, withGuest("shared", 3, 768), 400, "cpus"},
		{"unknown cpu kind", testApp, withGuest("quantum", 1, 256), 400, "cpu_kind"},
		{"unknown size", testApp, badSize, 400, "config.size"},
		{"restart policy outside the enum", testApp, badPolicy, 400, "invalid_argument"},
		{"bad name", testApp, named("Not_A_Name"), 400, "machine name"},
		{"name taken", testApp, named("taken"), 422, "already exists"},
		{"unknown app", "no-such-app", createBody("nginx"), 404, "app not found"},
		{"good", testApp, withGuest("performance", 1, 2048), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := en.c.Machines.Create(en.ctx, tc.app, tc.body)
			if got := codeOf(err); got != tc.wantCode {
				t.Fatalf("status %d, want %d (%v)", got, tc.wantCode, err)
			}
			if tc.wantErr != "" && !strings.Contains(errorText(err), tc.wantErr) {
				t.Errorf("error %q does not contain %q", errorText(err), tc.wantErr)
			}
		})
	}

	t.Run("malformed JSON", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, en.srv.URL()+"/v1/apps/"+testApp+"/machines", strings.NewReader(`{"config": {`))
		req.Header.Set("Authorization", "Bearer "+testToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body apiError
		_ = json.NewDecoder(res.Body).Decode(&body)
		if res.StatusCode != 400 || !strings.HasPrefix(body.Error, "invalid_argument: ") {
			t.Errorf("got %d %q", res.StatusCode, body.Error)
		}
	})
}

// lifecycleOp is one step of a state machine case.
type lifecycleOp struct {
	op        string // start, stop, restart, suspend, destroy, force-destroy, cordon, uncordon
	wantCode  int
	wantState string // the state the Machine settles in afterwards ("" = don't check)
}

func (en *env) do(id, op string) (any, error) {
	app, mid := testApp, id
	ctx, ms := en.ctx, en.c.Machines
	switch op {
	case "start":
		return ms.Start(ctx, app, mid, nil)
	case "stop":
		return nil, ms.Stop(ctx, app, mid, nil, nil)
	case "restart":
		return nil, ms.Restart(ctx, app, mid, nil)
	case "suspend":
		return nil, ms.Suspend(ctx, app, mid, nil)
	case "destroy":
		return nil, ms.Delete(ctx, app, mid, nil)
	case "force-destroy":
		return nil, ms.Delete(ctx, app, mid, &machines.DeleteParams{Force: true})
	case "cordon":
		return nil, ms.Cordon(ctx, app, mid, nil)
	case "uncordon":
		return nil, ms.Uncordon(ctx, app, mid, nil)
	}
	en.t.Fatalf("unknown op %s", op)
	return nil, nil
}

func TestMachineStateMachine(t *testing.T) {
	cases := []struct {
		name      string
		skipStart bool
		steps     []lifecycleOp
	}{
		{"start while started is refused", false, []lifecycleOp{{"start", 412, stateStarted}}},
		{"stop then start", false, []lifecycleOp{{"stop", 200, stateStopped}, {"start", 200, stateStarted}}},
		{"stop is idempotent", false, []lifecycleOp{{"stop", 200, stateStopped}, {"stop", 200, stateStopped}}},
		{"suspend then start", false, []lifecycleOp{{"suspend", 200, stateSuspended}, {"start", 200, stateStarted}}},
		{"suspend a stopped machine", false, []lifecycleOp{{"stop", 200, stateStopped}, {"suspend", 412, stateStopped}}},
		{"stop a suspended machine", false, []lifecycleOp{{"suspend", 200, stateSuspended}, {"stop", 200, stateStopped}}},
		{"restart", false, []lifecycleOp{{"restart", 200, stateStarted}}},
		{"restart a stopped machine", false, []lifecycleOp{{"stop", 200, stateStopped}, {"restart", 412, stateStopped}}},
		{"destroy a started machine", false, []lifecycleOp{{"destroy", 412, stateStarted}}},
		{"force destroy a started machine", false, []lifecycleOp{{"force-destroy", 200, stateDestroyed}}},
		{"destroy a stopped machine", false, []lifecycleOp{{"stop", 200, stateStopped}, {"destroy", 200, stateDestroyed}}},
		{"destroy a suspended machine", false, []lifecycleOp{{"suspend", 200, stateSuspended}, {"destroy", 200, stateDestroyed}}},
		{"destroy twice", false, []lifecycleOp{{"force-destroy", 200, stateDestroyed}, {"destroy", 404, stateDestroyed}}},
		{"start a destroyed machine", false, []lifecycleOp{{"force-destroy", 200, stateDestroyed}, {"start", 404, stateDestroyed}}},
		{"skip_launch machine starts", true, []lifecycleOp{{"start", 200, stateStarted}}},
		{"cordon and uncordon", false, []lifecycleOp{{"cordon", 200, stateStarted}, {"uncordon", 200, stateStarted}}},
	}
	en := newEnv(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			en := *en
			en.t = t
			req := createBody("nginx")
			req.SkipLaunch = tc.skipStart
			id := en.create(req).ID
			if !tc.skipStart {
				en.waitFor(id, stateStarted)
			}
			for _, step := range tc.steps {
				before := en.show(id).State
				res, err := en.do(id, step.op)
				if got := codeOf(err); got != step.wantCode {
					t.Fatalf("%s: status %d, want %d (%v)", step.op, got, step.wantCode, err)
				}
				if start, ok := res.(*models.StartMachineResponse); ok && start != nil && start.PreviousState != before {
					t.Errorf("start: previous_state %q, want %q", start.PreviousState, before)
				}
				if step.op == "start" && step.wantCode == 412 && !strings.Contains(errorText(err), "unable to start machine from current state: 'started'") {
					t.Errorf("start while started: error %q", errorText(err))
				}
				if step.wantState != "" {
					en.waitFor(id, step.wantState)
				}
				if step.op == "cordon" || step.op == "uncordon" {
					if got := en.show(id).Cordoned; got != (step.op == "cordon") {
						t.Errorf("%s: cordoned=%v", step.op, got)
					}
				}
			}
		})
	}
}

func TestMachineTransientStates(t *testing.T) {
	// A long transition delay makes the transient states observable.
	en := newEnv(t, WithTransitionDelay(200*time.Millisecond))
	m := en.create(createBody("nginx"))
	if m.State != stateCreated {
		t.Fatalf("after create: %s", m.State)
	}
	en.waitFor(m.ID, stateStarting)
	en.waitFor(m.ID, stateStarted)
	en.stop(m.ID)
	if s := en.show(m.ID).State; s != stateStopping {
		t.Errorf("right after stop: %s, want stopping", s)
	}
	en.waitFor(m.ID, stateStopped)
	if exit := en.lastExit(m.ID).ExitEvent; !exit.RequestedStop || exit.Restarting {
		t.Errorf("exit after a requested stop: %+v", exit)
	}
}

func TestMachineDestroyedVisibility(t *testing.T) {
	en := newEnv(t)
	keep := en.started("nginx")
	gone := en.started("nginx")
	if _, err := en.do(gone.ID, "force-destroy"); err != nil {
		t.Fatal(err)
	}
	if s := en.show(gone.ID).State; s != stateDestroying && s != stateDestroyed {
		t.Errorf("right after force destroy: %s", s)
	}
	en.waitFor(gone.ID, stateDestroyed) // GET still finds it
	var evTypes []string
	for _, ev := range en.events(gone.ID)[:2] {
		evTypes = append(evTypes, ev.Type+"/"+ev.Status+"/"+ev.Source)
	}
	if !slices.Equal(evTypes, []string{"destroy/destroyed/flyd", "destroy/destroying/user"}) {
		t.Errorf("destroy events: %v", evTypes)
	}

	list := func(includeDeleted bool) []string {
		list, err := en.c.Machines.List(en.ctx, testApp, &machines.ListParams{IncludeDeleted: includeDeleted})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range list {
			ids = append(ids, m.ID)
		}
		return ids
	}
	if got := list(false); !slices.Equal(got, []string{keep.ID}) {
		t.Errorf("list: %v, want only %s", got, keep.ID)
	}
	if got := list(true); !slices.Equal(got, []string{keep.ID, gone.ID}) {
		t.Errorf("list include_deleted: %v", got)
	}
}

func TestMachineUpdate(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx:1")
	update := func(id string, body *models.UpdateMachineRequest) (*models.Machine, error) {
		return en.c.Machines.Update(en.ctx, testApp, id, body, nil)
	}
	body := func(image string) *models.UpdateMachineRequest {
		b := &models.UpdateMachineRequest{}
		b.Config = machineConfig(image)
		return b
	}

	// A started Machine is replaced and boots on the new version.
	up, err := update(m.ID, body("nginx:2"))
	if err != nil {
		t.Fatal(errText(err))
	}
	if up.Version == m.Version || !ulidPattern.MatchString(up.Version) || up.State != stateReplacing || up.Config.Image != "nginx:2" {
		t.Errorf("update: version %s->%s state %s image %s", m.Version, up.Version, up.State, up.Config.Image)
	}
	en.waitFor(m.ID, stateStarted)

	// Versions, newest first; show can read an earlier one.
	vs, err := en.c.Machines.ListVersions(en.ctx, testApp, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Version != up.Version || vs[1].UserConfig.Image != "nginx:1" {
		t.Errorf("versions: %+v", vs)
	}
	old, err := en.c.Machines.Show(en.ctx, testApp, m.ID, &machines.ShowParams{Version: m.Version})
	if err != nil || old.Config.Image != "nginx:1" || old.Version != m.Version {
		t.Errorf("show version=%s: %v %v", m.Version, old, err)
	}

	// current_version guards against lost updates.
	stale := body("nginx:3")
	stale.CurrentVersion = m.Version
	if _, err := update(m.ID, stale); codeOf(err) != http.StatusConflict {
		t.Errorf("stale current_version: %v, want 409", err)
	}
	fresh := body("nginx:3")
	fresh.CurrentVersion = up.Version
	if _, err := update(m.ID, fresh); err != nil {
		t.Errorf("current current_version: %v", errText(err))
	}
	en.waitFor(m.ID, stateStarted)

	// Moving regions is not an update.
	moved := body("nginx:3")
	moved.Region = "ams"
	if _, err := update(m.ID, moved); codeOf(err) != 400 {
		t.Errorf("region change: %v, want 400", err)
	}
	if _, err := update(m.ID, &models.UpdateMachineRequest{}); codeOf(err) != 400 {
		t.Errorf("update without image: %v, want 400", err)
	}

	// A stopped Machine stays stopped...
	en.stop(m.ID)
	en.waitFor(m.ID, stateStopped)
	if up, err = update(m.ID, body("nginx:4")); err != nil || up.State != stateStopped {
		t.Fatalf("update of a stopped machine: %v %v", up, err)
	}
	// ...unless the update says skip_launch=false explicitly.
	req, _ := http.NewRequest(http.MethodPost, en.srv.URL()+"/v1/apps/"+testApp+"/machines/"+m.ID,
		bytes.NewReader([]byte(`{"config":{"image":"nginx:5"},"skip_launch":false}`)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("explicit skip_launch=false: %v %v", res, err)
	}
	res.Body.Close()
	en.waitFor(m.ID, stateStarted)

	// skip_launch on a started Machine leaves it stopped on the new version.
	skip := body("nginx:6")
	skip.SkipLaunch = new(true)
	if _, err := update(m.ID, skip); err != nil {
		t.Fatal(errText(err))
	}
	en.waitFor(m.ID, stateStopped)
}

func TestMachinesListFilters(t *testing.T) {
	en := newEnv(t)
	mk := func(region, role string, skip bool) string {
		req := createBody("nginx")
		req.Region, req.SkipLaunch = region, skip
		req.Config.Metadata = map[string]string{"role": role}
		return en.create(req).ID
	}
	webOrd := mk("ord", "web", false)
	webAms := mk("ams", "web", true)
	workerOrd := mk("ord", "worker", true)
	en.waitFor(webOrd, stateStarted)

	list := func(p *machines.ListParams) []string {
		t.Helper()
		res, err := en.c.Machines.List(en.ctx, testApp, p)
		if err != nil {
			t.Fatal(errText(err))
		}
		var ids []string
		for _, m := range res {
			ids = append(ids, m.ID)
		}
		return ids
	}
	cases := []struct {
		name string
		p    *machines.ListParams
		want []string
	}{
		{"all", nil, []string{webOrd, webAms, workerOrd}},
		{"region", &machines.ListParams{Region: "ord"}, []string{webOrd, workerOrd}},
		{"state", &machines.ListParams{State: "stopped"}, []string{webAms, workerOrd}},
		{"states comma-separated", &machines.ListParams{State: "started,stopped"}, []string{webOrd, webAms, workerOrd}},
		{"metadata", &machines.ListParams{Metadata: map[string]string{"role": "web"}}, []string{webOrd, webAms}},
		{"metadata and region", &machines.ListParams{Region: "ord", Metadata: map[string]string{"role": "web"}}, []string{webOrd}},
		{"two metadata keys must both match", &machines.ListParams{Metadata: map[string]string{"role": "web", "tier": "gold"}}, nil},
		{"metadata without a match", &machines.ListParams{Metadata: map[string]string{"role": "db"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.p); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("bad state", func(t *testing.T) {
		_, err := en.c.Machines.List(en.ctx, testApp, &machines.ListParams{State: "sleeping"})
		if codeOf(err) != 400 {
			t.Errorf("got %v, want 400", err)
		}
	})
	t.Run("summary", func(t *testing.T) {
		res, err := en.c.Machines.List(en.ctx, testApp, &machines.ListParams{Summary: true})
		if err != nil {
			t.Fatal(err)
		}
		m := res[0]
		if m.Config != nil || m.Events != nil || m.IncompleteConfig == nil || m.IncompleteConfig.Metadata["role"] != "web" {
			t.Errorf("summary machine: config %v events %v incomplete_config %+v", m.Config, m.Events, m.IncompleteConfig)
		}
	})
}

func TestMachinesListPagination(t *testing.T) {
	en := newEnv(t)
	var want []string
	for range 5 {
		req := createBody("nginx")
		req.SkipLaunch = true
		want = append(want, en.create(req).ID)
	}
	var got []string
	cursor := ""
	pages := 0
	for {
		var meta call.Meta
		res, err := en.c.Machines.List(en.ctx, testApp, &machines.ListParams{Limit: 2, Cursor: cursor}, call.Capture(&meta))
		if err != nil {
			t.Fatal(errText(err))
		}
		pages++
		for _, m := range res {
			got = append(got, m.ID)
		}
		if cursor = meta.NextCursor(); cursor == "" {
			break
		}
		if pages == 1 {
			// A Machine destroyed between pages does not shift the rest.
			if _, err := en.do(want[0], "destroy"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if pages != 3 || !slices.Equal(got, want) {
		t.Errorf("%d pages: %v, want %v", pages, got, want)
	}
	if res := rawGet(t, en.srv, "/v1/apps/"+testApp+"/machines"); res.Header.Get("fly-next-cursor") != "" {
		t.Error("fly-next-cursor without limit")
	}
	if res := rawGet(t, en.srv, "/v1/apps/"+testApp+"/machines?cursor=bogus!"); res.StatusCode != 400 {
		t.Errorf("bad cursor: %d", res.StatusCode)
	}
}

func TestMachinesOrgList(t *testing.T) {
	en := newEnv(t)
	en.createApp("second-app", "personal")
	en.createApp("elsewhere", "other-org")
	var ids []string
	for _, app := range []string{testApp, "second-app", testApp, "elsewhere"} {
		req := createBody("nginx")
		req.SkipLaunch = true
		m, err := en.c.Machines.Create(en.ctx, app, req)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	var got []string
	var apps []string
	cursor := ""
	for range 5 {
		res, err := en.c.Orgs.ListMachines(en.ctx, "personal", &orgs.ListMachinesParams{Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatal(errText(err))
		}
		for _, m := range res.Machines {
			got = append(got, m.ID)
			apps = append(apps, m.AppName)
			if m.Config == nil || m.Config.Image != "nginx" {
				t.Errorf("org machine config: %+v", m.Config)
			}
		}
		if cursor = res.NextCursor; cursor == "" {
			break
		}
	}
	slices.Sort(got)
	want := slices.Clone(ids[:3])
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("org machines: %v, want %v", got, want)
	}
	if !slices.Contains(apps, "second-app") || slices.Contains(apps, "elsewhere") {
		t.Errorf("apps: %v", apps)
	}

	res, err := en.c.Orgs.ListMachines(en.ctx, "personal", &orgs.ListMachinesParams{Region: "ams"})
	if err != nil || len(res.Machines) != 0 {
		t.Errorf("region filter: %v %v", res, err)
	}
	_, err = en.c.Orgs.ListMachines(en.ctx, "personal", &orgs.ListMachinesParams{UpdatedAfter: "yesterday"})
	if codeOf(err) != 400 {
		t.Errorf("bad updated_after: %v", err)
	}
}

func TestMachineEvents(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	en.stop(m.ID)
	en.waitFor(m.ID, stateStopped)

	evs := en.events(m.ID)
	for i := 1; i < len(evs); i++ {
		if evs[i-1].Timestamp < evs[i].Timestamp {
			t.Errorf("events not newest first at %d: %d then %d", i, evs[i-1].Timestamp, evs[i].Timestamp)
		}
	}
	if evs[0].Type != "exit" || evs[0].Status != stateStopped || evs[1].Type != "stop" || evs[1].Source != sourceUser {
		t.Errorf("newest events: %+v, %+v", evs[0], evs[1])
	}
	for _, ev := range evs {
		if !ulidPattern.MatchString(ev.ID) {
			t.Errorf("event id %q", ev.ID)
		}
	}
	res, err := en.c.Machines.ListEvents(en.ctx, testApp, m.ID, &machines.ListEventsParams{Limit: 2})
	if err != nil || len(res) != 2 || res[0].ID != evs[0].ID {
		t.Errorf("limit=2: %v %v", res, err)
	}
	if shown := en.show(m.ID); len(shown.Events) == 0 || shown.Events[0].ID != evs[0].ID {
		t.Errorf("machine body events: %v", shown.Events)
	}
}

func TestMachineEventsBounded(t *testing.T) {
	en := newEnv(t, WithTransitionDelay(time.Millisecond))
	m := en.started("nginx")
	for range maxEvents/4 + 5 {
		en.stop(m.ID)
		en.waitFor(m.ID, stateStopped)
		if _, err := en.do(m.ID, "start"); err != nil {
			t.Fatal(err)
		}
		en.waitFor(m.ID, stateStarted)
	}
	en.srv.mu.Lock()
	n := len(en.srv.st.apps[testApp].machines[m.ID].events)
	en.srv.mu.Unlock()
	if n != maxEvents {
		t.Errorf("machine keeps %d events, want %d", n, maxEvents)
	}
}

func TestDestroyedMachinesArePruned(t *testing.T) {
	clock := NewFakeClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	en := newEnv(t, WithClock(clock))
	m := en.started("nginx")
	if _, err := en.do(m.ID, "force-destroy"); err != nil {
		t.Fatal(err)
	}
	en.waitFor(m.ID, stateDestroyed)
	clock.Advance(destroyedKeep - time.Minute)
	en.started("nginx")
	en.show(m.ID) // still kept
	clock.Advance(2 * time.Minute)
	en.started("nginx") // creating prunes
	_, err := en.c.Machines.Show(en.ctx, testApp, m.ID, nil)
	if codeOf(err) != 404 {
		t.Errorf("a machine destroyed over %s ago: %v, want 404", destroyedKeep, err)
	}
}

func TestUpdateWhileDestroying(t *testing.T) {
	en := newEnv(t, WithTransitionDelay(time.Second))
	req := createBody("nginx")
	req.SkipLaunch = true
	m := en.create(req)
	if _, err := en.do(m.ID, "destroy"); err != nil {
		t.Fatal(err)
	}
	body := &models.UpdateMachineRequest{}
	body.Config = machineConfig("nginx:2")
	_, err := en.c.Machines.Update(en.ctx, testApp, m.ID, body, nil)
	if codeOf(err) != 412 {
		t.Errorf("update while destroying: %v, want 412", err)
	}
	if _, err := en.do(m.ID, "destroy"); err != nil {
		t.Errorf("destroy while destroying: %v, want a harmless 200", err)
	}
	if s := en.show(m.ID).State; s != stateDestroying {
		t.Errorf("state %s", s)
	}
}
