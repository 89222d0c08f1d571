package flytest

import (
	"cmp"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client/leases"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/client/ops"
	"github.com/flymachines/flymachines-go/models"
)

// lease takes (or, with its nonce, refreshes) a lease on Machine id, as
// testToken's holder unless opts say otherwise (asOther).
func (en *env) lease(id string, ttl int64, nonce string, opts ...call.Option) (*models.Lease, error) {
	res, err := en.c.Leases.Create(en.ctx, testApp, id, &models.CreateLeaseRequest{TTL: ttl, Description: "deploy"},
		&leases.CreateParams{LeaseNonce: nonce}, opts...)
	if err != nil {
		return nil, err
	}
	if res.Status != "success" {
		en.t.Errorf("lease status %q", res.Status)
	}
	return res.Data, nil
}

func TestLeaseLifecycle(t *testing.T) {
	clock := NewFakeClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	en := newEnv(t, WithClock(clock))
	m := en.started("nginx")

	l, err := en.lease(m.ID, 60, "")
	if err != nil {
		t.Fatal(errText(err))
	}
	if l.Nonce == "" || !strings.HasSuffix(l.Owner, "@flytest") || l.Version != m.Version || l.Description != "deploy" ||
		l.ExpiresAt != clock.Now().Add(time.Minute).Unix() {
		t.Errorf("lease: %+v", l)
	}

	// Someone else cannot take it, and is told who holds it until when.
	_, err = en.lease(m.ID, 60, "", asOther)
	want := "aborted: machine ID " + m.ID + " lease currently held by " + l.Owner + ", expires at 2025-01-02 03:05:05 +0000 UTC"
	if codeOf(err) != 409 || errorText(err) != want {
		t.Fatalf("lease by another token: %v\n got %q\nwant %q", err, errorText(err), want)
	}

	// Show: everyone sees the holder; only the holder sees the nonce.
	show := func(opts ...call.Option) *models.Lease {
		res, err := en.c.Leases.Show(en.ctx, testApp, m.ID, opts...)
		if err != nil {
			t.Fatal(errText(err))
		}
		return res.Data
	}
	if got := show(); got.Nonce != l.Nonce || got.Owner != l.Owner {
		t.Errorf("show by holder: %+v", got)
	}
	if got := show(asOther); got.Nonce != "" || got.Owner != l.Owner {
		t.Errorf("show by another: %+v", got)
	}
	res, err := en.c.Machines.Show(en.ctx, testApp, m.ID, &machines.ShowParams{IncludeLeases: true})
	if err != nil || res.Lease == nil || res.Lease.Owner != l.Owner {
		t.Errorf("machine with include_leases: %+v %v", res, err)
	}

	// The holder refreshes with its nonce: same nonce, later expiry.
	clock.Advance(30 * time.Second)
	again, err := en.lease(m.ID, 60, l.Nonce)
	if err != nil || again.Nonce != l.Nonce || again.ExpiresAt != clock.Now().Add(time.Minute).Unix() {
		t.Fatalf("refresh: %+v %v", again, err)
	}
	// Without the nonce even the holder's token is refused: the nonce is the lock.
	if _, err := en.lease(m.ID, 60, ""); codeOf(err) != 409 {
		t.Errorf("second lease without nonce: %v", err)
	}

	// Release needs the nonce.
	release := func(nonce string) error {
		return en.c.Leases.Release(en.ctx, testApp, m.ID, nonce)
	}
	if err := release("wrong"); codeOf(err) != 409 {
		t.Errorf("release with a wrong nonce: %v", err)
	}
	if err := release(l.Nonce); err != nil {
		t.Fatal(errText(err))
	}
	if err := release(l.Nonce); codeOf(err) != 404 {
		t.Errorf("release of no lease: %v", err)
	}
	if _, err := en.c.Leases.Show(en.ctx, testApp, m.ID); codeOf(err) != 404 {
		t.Errorf("show without a lease: %v", err)
	}
	if _, err := en.lease(m.ID, 60, "", asOther); err != nil {
		t.Errorf("lease after release: %v", errText(err))
	}
}

func TestLeaseExpiry(t *testing.T) {
	clock := NewFakeClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	en := newEnv(t, WithClock(clock))
	m := en.started("nginx")
	if _, err := en.lease(m.ID, 10, "", asOther); err != nil {
		t.Fatal(err)
	}
	if _, err := en.do(m.ID, "cordon"); codeOf(err) != 409 {
		t.Fatalf("cordon under another's lease: %v", err)
	}
	clock.Advance(9 * time.Second)
	if _, err := en.do(m.ID, "cordon"); codeOf(err) != 409 {
		t.Fatalf("cordon 1s before expiry: %v", err)
	}
	clock.Advance(time.Second)
	if _, err := en.do(m.ID, "cordon"); err != nil {
		t.Fatalf("cordon once the lease expired: %v", errText(err))
	}
	if l, err := en.lease(m.ID, 10, ""); err != nil || l.Owner == "" {
		t.Errorf("lease once expired: %v %v", l, err)
	}
}

func TestLeaseOwnerOption(t *testing.T) {
	en := newEnv(t, WithLeaseOwner(testToken, "ops@example.com"))
	m := en.started("nginx")
	l, err := en.lease(m.ID, 60, "")
	if err != nil || l.Owner != "ops@example.com" {
		t.Errorf("owner: %+v %v", l, err)
	}
}

func TestCreateWithLeaseTTL(t *testing.T) {
	en := newEnv(t)
	req := createBody("nginx")
	req.LeaseTTL = 30
	m := en.create(req)
	if m.Nonce == "" {
		t.Fatal("create with lease_ttl returned no nonce")
	}
	if _, err := en.lease(m.ID, 30, "", asOther); codeOf(err) != 409 {
		t.Errorf("the new machine is not leased: %v", err)
	}
	en.waitFor(m.ID, stateStarted)
	if _, err := en.do(m.ID, "stop"); codeOf(err) != 409 {
		t.Errorf("stop without the nonce: %v", err)
	}
}

// machineOpFixtures say what an operation on a Machine needs to succeed,
// beyond a started Machine whose metadata holds a=b: the state to put the
// Machine in first, a body, a query. Keyed by the table's constants.
var machineOpFixtures = map[string]struct {
	state string
	req   opRequest
}{
	ops.MachinesStart:          {state: stateStopped},
	ops.MachinesDelete:         {state: stateStopped},
	ops.MachinesUpdate:         {req: opRequest{body: `{"config":{"image":"nginx:2"},"skip_launch":true}`}},
	ops.MachinesSignal:         {req: opRequest{body: `{"signal":"SIGHUP"}`}},
	ops.MachinesExec:           {req: opRequest{body: `{"command":["true"]}`}},
	ops.MachinesReclaimMemory:  {req: opRequest{body: `{"amount_mb":16}`}},
	ops.MachinesSetMemoryLimit: {req: opRequest{body: `{"limit_mb":128}`}},
	ops.MachinesWait:           {req: opRequest{query: "state=started&timeout=5"}},
	ops.MetadataUpdate:         {req: opRequest{body: `{"metadata":{"a":"c"}}`}},
	ops.MetadataReplace:        {req: opRequest{body: `{"metadata":{"a":"c"}}`}},
	ops.MetadataSet:            {req: opRequest{body: `{"value":"c"}`}},
}

// TestLeaseNonceFact: the emulator's lease guard is the facts table's
// LeaseNonce. While someone else holds a Machine's lease, every operation
// marked LeaseNonce answers 409 "lease currently held by" without the
// lease's nonce or with a wrong one, and goes through with it; every other
// operation on the Machine goes through with or without a nonce. (The
// lease operations themselves answer for the lease: TestLeaseLifecycle.)
func TestLeaseNonceFact(t *testing.T) {
	en := newEnv(t)
	guarded := 0
	for _, op := range ops.All() {
		onMachine := strings.Contains(op.Path, "{machine_id}")
		if op.LeaseNonce && !onMachine {
			t.Errorf("%s takes a lease nonce but acts on no Machine", op.ID)
		}
		if !onMachine || op.Group == "Leases" {
			continue
		}
		if op.LeaseNonce {
			guarded++
		}
		t.Run(op.ID, func(t *testing.T) {
			en := *en
			en.t = t
			fx := machineOpFixtures[op.ID]
			state := cmp.Or(fx.state, stateStarted)
			req := createBody("nginx")
			req.SkipLaunch = state == stateStopped
			req.Config.Metadata = map[string]string{"a": "b"}
			m := en.create(req)
			en.waitFor(m.ID, state)
			l, err := en.lease(m.ID, 60, "", asOther)
			if err != nil {
				t.Fatal(errText(err))
			}
			send := func(nonce string) opAnswer {
				r := fx.req
				r.values = placeholders(testApp, m.ID)
				r.values["key"] = "a"
				if nonce != "" {
					r.header = http.Header{leaseNonceHeader: {nonce}}
				}
				return sendOp(t, en.srv, op, r)
			}
			ok := func(a opAnswer) bool { return a.status >= 200 && a.status < 300 }
			if !op.LeaseNonce {
				for _, nonce := range []string{"", "not-the-nonce"} {
					if a := send(nonce); !ok(a) {
						t.Errorf("nonce %q under another's lease: HTTP %d %s, want it served", nonce, a.status, a.body)
					}
				}
				return
			}
			if a := send(""); a.status != http.StatusConflict || !strings.Contains(a.errorText(), "lease currently held by "+l.Owner) {
				t.Fatalf("without the nonce: HTTP %d %s, want 409 lease currently held by %s", a.status, a.body, l.Owner)
			}
			if a := send("not-the-nonce"); a.status != http.StatusConflict {
				t.Fatalf("with a wrong nonce: HTTP %d %s, want 409", a.status, a.body)
			}
			if a := send(l.Nonce); !ok(a) {
				t.Fatalf("with the nonce: HTTP %d %s", a.status, a.body)
			}
		})
	}
	if guarded == 0 {
		t.Error("the facts table marks no operation LeaseNonce")
	}
}
