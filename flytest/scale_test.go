package flytest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// What a request costs at platform scale, counted rather than timed: the
// Machines a request looks at (state.visits), the bytes a list allocates,
// and whether an answer is encoded with the lock held.

// inProcess serves one request in process with token and returns status,
// headers and body.
func inProcess(e *Emulator, token, method, target, body string) (int, http.Header, string) {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.String()
}

// visits is how many Machines requests have looked at so far.
func visits(e *Emulator) int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st.visits
}

// createNamed creates a stopped Machine called name ("" for a generated
// name) and returns its id, or fails with the answer.
func createNamed(t *testing.T, e *Emulator, name string) string {
	t.Helper()
	status, _, body := inProcess(e, testToken, http.MethodPost, "/v1/apps/"+testApp+"/machines", string(scaleCreateBody(t, name)))
	if status != http.StatusOK {
		t.Fatalf("create %q: HTTP %d %s", name, status, body)
	}
	var m struct{ ID string }
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	return m.ID
}

// listIDs lists the app's Machines with query and returns their ids and
// the next cursor.
func listIDs(t *testing.T, e *Emulator, query string) ([]string, string) {
	t.Helper()
	status, h, body := inProcess(e, testToken, http.MethodGet, "/v1/apps/"+testApp+"/machines"+query, "")
	if status != http.StatusOK {
		t.Fatalf("list %s: HTTP %d %s", query, status, body)
	}
	var ms []struct{ ID string }
	if err := json.Unmarshal([]byte(body), &ms); err != nil {
		t.Fatalf("list %s: %v", query, err)
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids, h.Get("fly-next-cursor")
}

// walk pages through the app's Machines at limit and returns every id and
// the number of pages.
func walk(t *testing.T, e *Emulator, query string, limit int) ([]string, int) {
	t.Helper()
	var all []string
	pages := 0
	cursor := ""
	for {
		q := fmt.Sprintf("?limit=%d%s", limit, query)
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		ids, next := listIDs(t, e, q)
		all = append(all, ids...)
		pages++
		if cursor = next; cursor == "" {
			return all, pages
		}
		if pages > 10_000 {
			t.Fatal("paging does not end")
		}
	}
}

func TestLeaseTTLTheAPICannotHoldIsRefused(t *testing.T) {
	e := newScaleEmulator(t)
	id := createNamed(t, e, "leased")
	leasePath := "/v1/apps/" + testApp + "/machines/" + id + "/lease"
	tooLong := fmt.Sprint(maxLeaseTTL + 1)

	// 1e10 s is the case that wrapped expires_at to a negative time.
	for _, tc := range []struct{ what, target, body string }{
		{"query 1e10", leasePath + "?ttl=10000000000", ""},
		{"query max+1", leasePath + "?ttl=" + tooLong, ""},
		{"body 1e10", leasePath, `{"ttl":10000000000}`},
		{"query max int64", leasePath + "?ttl=9223372036854775807", ""},
	} {
		status, _, body := inProcess(e, testToken, http.MethodPost, tc.target, tc.body)
		if status != http.StatusBadRequest || !strings.Contains(body, "invalid_argument") {
			t.Errorf("lease with ttl %s: HTTP %d %s, want 400 invalid_argument", tc.what, status, body)
		}
	}
	if status, _, body := inProcess(e, testToken, http.MethodGet, leasePath, ""); status != http.StatusNotFound {
		t.Errorf("after refused leases: HTTP %d %s, want 404 (no lease)", status, body)
	}

	// lease_ttl on create and update is the same number.
	create := `{"config":{"image":"nginx"},"skip_launch":true,"lease_ttl":10000000000}`
	if status, _, body := inProcess(e, testToken, http.MethodPost, "/v1/apps/"+testApp+"/machines", create); status != http.StatusBadRequest {
		t.Errorf("create with lease_ttl 1e10: HTTP %d %s, want 400", status, body)
	}
	update := `{"config":{"image":"nginx"},"lease_ttl":10000000000}`
	if status, _, body := inProcess(e, testToken, http.MethodPost, "/v1/apps/"+testApp+"/machines/"+id, update); status != http.StatusBadRequest {
		t.Errorf("update with lease_ttl 1e10: HTTP %d %s, want 400", status, body)
	}
	if ids, _ := listIDs(t, e, ""); len(ids) != 1 {
		t.Errorf("a refused create made a Machine: %v", ids)
	}

	// The longest TTL holds: its expiry is in the future, and nobody else
	// gets in.
	before := time.Now()
	status, _, body := inProcess(e, testToken, http.MethodPost, fmt.Sprintf("%s?ttl=%d", leasePath, maxLeaseTTL), "")
	if status != http.StatusCreated {
		t.Fatalf("lease with the longest ttl: HTTP %d %s", status, body)
	}
	var l struct {
		Data struct {
			ExpiresAt int64 `json:"expires_at"`
		}
	}
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatal(err)
	}
	if want := before.Add(time.Duration(maxLeaseTTL) * time.Second).Unix(); l.Data.ExpiresAt < want {
		t.Errorf("expires_at %d, want at least %d", l.Data.ExpiresAt, want)
	}
	if status, _, body := inProcess(e, "someone-else", http.MethodPost, leasePath+"?ttl=60", ""); status != http.StatusConflict {
		t.Errorf("second owner: HTTP %d %s, want 409", status, body)
	}
	if status, _, body := inProcess(e, "someone-else", http.MethodPost, "/v1/apps/"+testApp+"/machines/"+id+"/start", ""); status != http.StatusConflict {
		t.Errorf("second owner's start: HTTP %d %s, want 409", status, body)
	}
}

func TestNamedCreateLooksAtNoOtherMachine(t *testing.T) {
	e := newScaleEmulator(t)
	for i := range 300 {
		createNamed(t, e, fmt.Sprintf("m-%d", i))
	}
	before := visits(e)
	createNamed(t, e, "one-more")
	if n := visits(e) - before; n != 0 {
		t.Errorf("a named create in an app of 300 looked at %d Machines, want 0", n)
	}
	status, _, body := inProcess(e, testToken, http.MethodPost, "/v1/apps/"+testApp+"/machines", string(scaleCreateBody(t, "m-7")))
	if status != http.StatusUnprocessableEntity || !strings.Contains(body, "name_taken") {
		t.Errorf("create of a taken name: HTTP %d %s, want 422 name_taken", status, body)
	}
}

func TestMachineNamesFreedAndMoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newScaleEmulator(t)
		web := createNamed(t, e, "web")
		worker := createNamed(t, e, "worker")
		taken := func(name string) bool {
			status, _, _ := inProcess(e, testToken, http.MethodPost, "/v1/apps/"+testApp+"/machines", string(scaleCreateBody(t, name)))
			return status == http.StatusUnprocessableEntity
		}

		// A rename moves the name: the old one is free, the new one taken.
		update := `{"config":{"image":"nginx"},"name":"api","skip_launch":true}`
		if status, _, body := inProcess(e, testToken, http.MethodPost, "/v1/apps/"+testApp+"/machines/"+worker, update); status != http.StatusOK {
			t.Fatalf("rename: HTTP %d %s", status, body)
		}
		if !taken("api") {
			t.Error("a renamed Machine's new name is free")
		}
		if taken("worker") {
			t.Error("a renamed Machine's old name is still taken")
		}

		// Destroying frees the name once the Machine is destroyed.
		if status, _, body := inProcess(e, testToken, http.MethodDelete, "/v1/apps/"+testApp+"/machines/"+web, ""); status != http.StatusOK {
			t.Fatalf("destroy: HTTP %d %s", status, body)
		}
		if !taken("web") {
			t.Error("the name of a Machine being destroyed is free")
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if taken("web") {
			t.Error("the name of a destroyed Machine is still taken")
		}
	})
}

func TestPagingVisitsOnlyItsPage(t *testing.T) {
	const n, limit = 1000, 100
	e := newScaleEmulator(t)
	fillMachines(t, e, n)
	all, _ := listIDs(t, e, "")
	if len(all) != n {
		t.Fatalf("list: %d Machines, want %d", len(all), n)
	}

	before := visits(e)
	got, pages := walk(t, e, "", limit)
	if !slices.Equal(got, all) {
		t.Errorf("paging gave %d Machines, not the list's %d in creation order", len(got), len(all))
	}
	// Each page finds its start by binary search and looks at its own
	// Machines and the next one (to know whether there is a next page).
	perPage := int64(limit + 1 + bits.Len(n) + 1)
	if v := visits(e) - before; v > int64(pages)*perPage {
		t.Errorf("%d pages of %d looked at %d Machines, want at most %d", pages, limit, v, int64(pages)*perPage)
	}

	// The last page alone costs the same as the first.
	e.mu.Lock()
	cursor := seqCursor(e.st.apps[testApp].machines[all[n-limit-1]].seq)
	e.mu.Unlock()
	before = visits(e)
	if ids, next := listIDs(t, e, fmt.Sprintf("?limit=%d&cursor=%s", limit, cursor)); len(ids) != limit || next != "" {
		t.Errorf("last page: %d Machines, next %q", len(ids), next)
	}
	if v := visits(e) - before; v > perPage {
		t.Errorf("the last page looked at %d Machines, want at most %d", v, perPage)
	}
}

// TestListOrderSurvivesPruning checks the list and its cursors while
// destroyed Machines are forgotten (maxDestroyedInApp) in great numbers.
func TestListOrderSurvivesPruning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newScaleEmulator(t)
		var live []string
		for round := range 3 {
			var ids []string
			for range 700 {
				ids = append(ids, createNamed(t, e, ""))
			}
			// Destroy all but every tenth: far more than maxDestroyedInApp.
			for i, id := range ids {
				if i%10 == 0 {
					live = append(live, id)
					continue
				}
				if status, _, body := inProcess(e, testToken, http.MethodDelete, "/v1/apps/"+testApp+"/machines/"+id, ""); status != http.StatusOK {
					t.Fatalf("destroy: HTTP %d %s", status, body)
				}
			}
			time.Sleep(time.Second)
			synctest.Wait()
			live = append(live, createNamed(t, e, "")) // creating prunes
			got, _ := listIDs(t, e, "")
			if !slices.Equal(got, live) {
				t.Fatalf("round %d: list has %d Machines, want the %d live ones in creation order", round, len(got), len(live))
			}
			paged, _ := walk(t, e, "", 37)
			if !slices.Equal(paged, live) {
				t.Fatalf("round %d: paging gave %d Machines, want the %d live ones in creation order", round, len(paged), len(live))
			}
			withDeleted, _ := walk(t, e, "&include_deleted=true", 50)
			if len(withDeleted) != len(live)+maxDestroyedInApp {
				t.Errorf("round %d: %d Machines with the destroyed, want %d", round, len(withDeleted), len(live)+maxDestroyedInApp)
			}
		}
	})
}

func TestListsAreEncodedOutsideTheLock(t *testing.T) {
	e := newScaleEmulator(t)
	fillMachines(t, e, 20)
	encoded := 0
	e.encodeHook = func() {
		if !e.mu.TryLock() {
			t.Error("an answer is encoded while the emulator's lock is held")
			return
		}
		e.mu.Unlock()
		encoded++
	}
	for _, target := range []string{
		"/v1/apps/" + testApp + "/machines",
		"/v1/apps/" + testApp + "/machines?summary=true&include_leases=true",
		"/v1/orgs/personal/machines",
	} {
		if status, _, body := inProcess(e, testToken, http.MethodGet, target, ""); status != http.StatusOK {
			t.Fatalf("%s: HTTP %d %s", target, status, body)
		}
	}
	if encoded != 3 {
		t.Errorf("%d of 3 lists went through the encoder after the lock", encoded)
	}
}

// TestListAllocatesAboutItsBody bounds what a list allocates: the answer
// built under the lock, and each Machine's encoding, never the whole body
// over again.
func TestListAllocatesAboutItsBody(t *testing.T) {
	e := newScaleEmulator(t)
	fillMachines(t, e, 2000)
	for _, query := range []string{"", "?summary=true"} {
		best := math.Inf(1)
		for range 3 {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			w := serveCounted(e, http.MethodGet, "/v1/apps/"+testApp+"/machines"+query, nil)
			runtime.ReadMemStats(&after)
			if w.status != http.StatusOK {
				t.Fatalf("list: HTTP %d", w.status)
			}
			best = min(best, float64(after.TotalAlloc-before.TotalAlloc)/float64(w.n))
		}
		t.Logf("list%s: %.2f× its body", query, best)
		if best > maxListAllocRatio {
			t.Errorf("list%s allocates %.1f× its body, want at most %.1f×", query, best, maxListAllocRatio)
		}
	}
}

// maxListAllocRatio is what a list may allocate per byte of its body: the
// answer built under the lock (a models.Machine per Machine, about half
// the body) and each Machine's MarshalJSON buffer, which starts at 512
// bytes and grows, so it comes to about twice a Machine's size. Encoding
// the body over again, as lists once did (14×), adds at least 1× a time.
const maxListAllocRatio = 3.5

// TestListWhileMachinesChange lists while the listed Machines change in
// every way that touches what a list shows: under -race, an answer
// encoded after the lock that shares anything changed in place fails.
func TestListWhileMachinesChange(t *testing.T) {
	e := New(WithTransitionDelay(time.Millisecond))
	t.Cleanup(e.Close)
	if status, _, body := inProcess(e, testToken, http.MethodPost, "/v1/apps", `{"name":"`+testApp+`","org_slug":"personal"}`); status != http.StatusCreated {
		t.Fatalf("create app: HTTP %d %s", status, body)
	}
	var ids []string
	for range 5 {
		status, _, body := inProcess(e, testToken, http.MethodPost, "/v1/apps/"+testApp+"/machines", `{"config":{"image":"nginx","metadata":{"role":"web"}}}`)
		var m struct{ ID string }
		if err := json.Unmarshal([]byte(body), &m); status != http.StatusOK || err != nil {
			t.Fatalf("create: HTTP %d %s", status, body)
		}
		ids = append(ids, m.ID)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			id := ids[i%len(ids)]
			path := "/v1/apps/" + testApp + "/machines/" + id
			inProcess(e, testToken, http.MethodPost, path+"/metadata/k", `{"value":"v`+fmt.Sprint(i)+`"}`)
			inProcess(e, testToken, http.MethodPatch, path+"/metadata", `{"metadata":{"role":"api","k":""}}`)
			inProcess(e, testToken, http.MethodDelete, path+"/metadata/role", "")
			inProcess(e, testToken, http.MethodPost, path+"/lease?ttl=60", "")
			inProcess(e, testToken, http.MethodPost, path+"/cordon", "")
			inProcess(e, testToken, http.MethodPost, path, `{"config":{"image":"nginx:`+fmt.Sprint(i)+`","metadata":{"role":"web"}},"name":"m-`+fmt.Sprint(i)+`"}`)
			inProcess(e, testToken, http.MethodPost, path+"/stop", "")
		}
	}()
	for _, q := range []string{"", "?summary=true", "?include_leases=true", "?metadata.role=web&limit=2"} {
		for range 30 {
			if status, _, body := inProcess(e, testToken, http.MethodGet, "/v1/apps/"+testApp+"/machines"+q, ""); status != http.StatusOK || !json.Valid([]byte(body)) {
				t.Fatalf("list%s: HTTP %d %s", q, status, body)
			}
			inProcess(e, testToken, http.MethodGet, "/v1/orgs/personal/machines", "")
		}
	}
	<-done
}
