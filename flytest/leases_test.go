package flytest

import (
	"strings"
	"testing"
	"time"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/swag/conv"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

func (en *env) lease(id string, ttl int64, auth runtime.ClientAuthInfoWriter, nonce *string) (*models.Lease, error) {
	p := machines.NewMachinesCreateLeaseParams().WithAppName(testApp).WithMachineID(id).
		WithBody(&models.CreateLeaseRequest{TTL: ttl, Description: "deploy"}).WithFlyMachineLeaseNonce(nonce)
	res, err := en.c.Machines.MachinesCreateLeaseContext(en.ctx, p, auth)
	if err != nil {
		return nil, err
	}
	if res.Payload.Status != "success" {
		en.t.Errorf("lease status %q", res.Payload.Status)
	}
	return res.Payload.Data, nil
}

func TestLeaseLifecycle(t *testing.T) {
	clock := NewFakeClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	en := newEnv(t, WithClock(clock))
	m := en.started("nginx")

	l, err := en.lease(m.ID, 60, nil, nil)
	if err != nil {
		t.Fatal(errText(err))
	}
	if l.Nonce == "" || !strings.HasSuffix(l.Owner, "@flytest") || l.Version != m.Version || l.Description != "deploy" ||
		l.ExpiresAt != clock.Now().Add(time.Minute).Unix() {
		t.Errorf("lease: %+v", l)
	}

	// Someone else cannot take it, and is told who holds it until when.
	_, err = en.lease(m.ID, 60, otherAuth, nil)
	want := "aborted: machine ID " + m.ID + " lease currently held by " + l.Owner + ", expires at 2025-01-02 03:05:05 +0000 UTC"
	if codeOf(err) != 409 || errorBody(err).Error != want {
		t.Fatalf("lease by another token: %v\n got %q\nwant %q", err, errorBody(err), want)
	}

	// Show: everyone sees the holder; only the holder sees the nonce.
	show := func(auth runtime.ClientAuthInfoWriter) *models.Lease {
		res, err := en.c.Machines.MachinesShowLeaseContext(en.ctx, machines.NewMachinesShowLeaseParams().WithAppName(testApp).WithMachineID(m.ID), auth)
		if err != nil {
			t.Fatal(errText(err))
		}
		return res.Payload.Data
	}
	if got := show(nil); got.Nonce != l.Nonce || got.Owner != l.Owner {
		t.Errorf("show by holder: %+v", got)
	}
	if got := show(otherAuth); got.Nonce != "" || got.Owner != l.Owner {
		t.Errorf("show by another: %+v", got)
	}
	res, err := en.c.Machines.MachinesShowContext(en.ctx, machines.NewMachinesShowParams().WithAppName(testApp).WithMachineID(m.ID).WithIncludeLeases(conv.Pointer(true)), nil)
	if err != nil || res.Payload.Lease == nil || res.Payload.Lease.Owner != l.Owner {
		t.Errorf("machine with include_leases: %+v %v", res, err)
	}

	// The holder refreshes with its nonce: same nonce, later expiry.
	clock.Advance(30 * time.Second)
	again, err := en.lease(m.ID, 60, nil, &l.Nonce)
	if err != nil || again.Nonce != l.Nonce || again.ExpiresAt != clock.Now().Add(time.Minute).Unix() {
		t.Fatalf("refresh: %+v %v", again, err)
	}
	// Without the nonce even the holder's token is refused: the nonce is the lock.
	if _, err := en.lease(m.ID, 60, nil, nil); codeOf(err) != 409 {
		t.Errorf("second lease without nonce: %v", err)
	}

	// Release needs the nonce.
	release := func(nonce string) error {
		_, err := en.c.Machines.MachinesReleaseLeaseContext(en.ctx, machines.NewMachinesReleaseLeaseParams().WithAppName(testApp).WithMachineID(m.ID).WithFlyMachineLeaseNonce(nonce), nil)
		return err
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
	if _, err := en.c.Machines.MachinesShowLeaseContext(en.ctx, machines.NewMachinesShowLeaseParams().WithAppName(testApp).WithMachineID(m.ID), nil); codeOf(err) != 404 {
		t.Errorf("show without a lease: %v", err)
	}
	if _, err := en.lease(m.ID, 60, otherAuth, nil); err != nil {
		t.Errorf("lease after release: %v", errText(err))
	}
}

func TestLeaseExpiry(t *testing.T) {
	clock := NewFakeClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	en := newEnv(t, WithClock(clock))
	m := en.started("nginx")
	if _, err := en.lease(m.ID, 10, otherAuth, nil); err != nil {
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
	if l, err := en.lease(m.ID, 10, nil, nil); err != nil || l.Owner == "" {
		t.Errorf("lease once expired: %v %v", l, err)
	}
}

func TestLeaseOwnerOption(t *testing.T) {
	en := newEnv(t, WithLeaseOwner(testToken, "ops@example.com"))
	m := en.started("nginx")
	l, err := en.lease(m.ID, 60, nil, nil)
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
	if _, err := en.lease(m.ID, 30, otherAuth, nil); codeOf(err) != 409 {
		t.Errorf("the new machine is not leased: %v", err)
	}
	en.waitFor(m.ID, stateStarted)
	if _, err := en.do(m.ID, "stop"); codeOf(err) != 409 {
		t.Errorf("stop without the nonce: %v", err)
	}
}

// TestLeaseGuardsMutations: while a lease is held, every mutation without
// its nonce answers 409, and with it goes through.
func TestLeaseGuardsMutations(t *testing.T) {
	en := newEnv(t)
	type mutation func(id string, nonce *string) error
	ms, ctx, app := en.c.Machines, en.ctx, testApp
	updateBody := &models.UpdateMachineRequest{}
	updateBody.Config = machineConfig("nginx:2")
	updateBody.SkipLaunch = conv.Pointer(true)
	cases := []struct {
		name  string
		state string // the state to put the Machine in first
		do    mutation
	}{
		{"update", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesUpdateContext(ctx, machines.NewMachinesUpdateParams().WithAppName(app).WithMachineID(id).WithBody(updateBody).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"stop", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesStopContext(ctx, machines.NewMachinesStopParams().WithAppName(app).WithMachineID(id).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"start", stateStopped, func(id string, n *string) error {
			_, err := ms.MachinesStartContext(ctx, machines.NewMachinesStartParams().WithAppName(app).WithMachineID(id).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"restart", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesRestartContext(ctx, machines.NewMachinesRestartParams().WithAppName(app).WithMachineID(id).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"suspend", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesSuspendContext(ctx, machines.NewMachinesSuspendParams().WithAppName(app).WithMachineID(id).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"cordon", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesCordonContext(ctx, machines.NewMachinesCordonParams().WithAppName(app).WithMachineID(id).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"uncordon", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesUncordonContext(ctx, machines.NewMachinesUncordonParams().WithAppName(app).WithMachineID(id).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"signal", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesSignalContext(ctx, machines.NewMachinesSignalParams().WithAppName(app).WithMachineID(id).WithBody(&models.SignalRequest{Signal: "SIGHUP"}).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"destroy", stateStopped, func(id string, n *string) error {
			_, err := ms.MachinesDeleteContext(ctx, machines.NewMachinesDeleteParams().WithAppName(app).WithMachineID(id).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"update metadata", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesUpdateMetadataContext(ctx, machines.NewMachinesUpdateMetadataParams().WithAppName(app).WithMachineID(id).WithBody(&models.UpdateMetadataRequest{Metadata: map[string]string{"a": "b"}}).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"update metadata (PUT)", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesUpdateMetadataDeprecatedContext(ctx, machines.NewMachinesUpdateMetadataDeprecatedParams().WithAppName(app).WithMachineID(id).WithBody(&models.UpdateMetadataRequest{Metadata: map[string]string{"a": "b"}}).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"upsert metadata", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesUpsertMetadataContext(ctx, machines.NewMachinesUpsertMetadataParams().WithAppName(app).WithMachineID(id).WithKey("a").WithBody(&models.UpsertMetadataKeyRequest{Value: "b"}).WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
		{"delete metadata", stateStarted, func(id string, n *string) error {
			_, err := ms.MachinesDeleteMetadataContext(ctx, machines.NewMachinesDeleteMetadataParams().WithAppName(app).WithMachineID(id).WithKey("a").WithFlyMachineLeaseNonce(n), nil)
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			en := *en
			en.t = t
			req := createBody("nginx")
			req.SkipLaunch = tc.state == stateStopped
			m := en.create(req)
			en.waitFor(m.ID, tc.state)
			l, err := en.lease(m.ID, 60, otherAuth, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = tc.do(m.ID, nil)
			if codeOf(err) != 409 || !strings.Contains(errorBody(err).Error, "lease currently held by "+l.Owner) {
				t.Fatalf("without the nonce: %v, want 409 lease currently held", err)
			}
			if err := tc.do(m.ID, conv.Pointer("not-the-nonce")); codeOf(err) != 409 {
				t.Fatalf("with a wrong nonce: %v, want 409", err)
			}
			if err := tc.do(m.ID, &l.Nonce); err != nil {
				t.Fatalf("with the nonce: %v", errText(err))
			}
		})
	}
}
