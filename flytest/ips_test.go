package flytest

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/models"
)

func assignIP(t *testing.T, c *client.API, appName string, req *models.AssignIPRequest) *models.AssignIPResponse {
	t.Helper()
	res, err := c.IPAssignments.Create(context.Background(), appName, req)
	if err != nil {
		t.Fatalf("assign %s: %v", req.Type, err)
	}
	return res
}

func TestIPAssignments(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "ip-app")
	mustCreateApp(t, c, "ip-other")

	inPrefix := func(ip, prefix string) bool {
		a, err := netip.ParseAddr(ip)
		return err == nil && netip.MustParsePrefix(prefix).Contains(a)
	}
	v4 := assignIP(t, c, "ip-app", &models.AssignIPRequest{Type: models.IPAssignmentTypeV4})
	v4b := assignIP(t, c, "ip-other", &models.AssignIPRequest{Type: models.IPAssignmentTypeV4})
	if !inPrefix(v4.IP, "192.0.2.0/24") || v4.IP == v4b.IP || v4.Shared || v4.Region != "global" {
		t.Errorf("dedicated v4: %+v and %+v", v4, v4b)
	}
	shared := assignIP(t, c, "ip-app", &models.AssignIPRequest{Type: models.IPAssignmentTypeSharedV4})
	sharedOther := assignIP(t, c, "ip-other", &models.AssignIPRequest{Type: models.IPAssignmentTypeSharedV4})
	if !shared.Shared || shared.IP != sharedOther.IP {
		t.Errorf("shared v4: %+v and %+v", shared, sharedOther)
	}
	if again := assignIP(t, c, "ip-app", &models.AssignIPRequest{Type: models.IPAssignmentTypeSharedV4}); again.IP != shared.IP {
		t.Errorf("second shared v4 request: %+v", again)
	}
	v6 := assignIP(t, c, "ip-app", &models.AssignIPRequest{Type: models.IPAssignmentTypeV6, ServiceName: "web"})
	if !inPrefix(v6.IP, "2001:db8::/32") || v6.ServiceName != "web" {
		t.Errorf("v6: %+v", v6)
	}
	private := assignIP(t, c, "ip-app", &models.AssignIPRequest{Type: models.IPAssignmentTypePrivateV6, Network: "backend"})
	if !inPrefix(private.IP, "fdaa::/16") || private.Network == nil || private.Network.Name != "backend" || private.Network.OrgSlug != "personal" {
		t.Errorf("private v6: %+v", private)
	}
	egress := assignIP(t, c, "ip-app", &models.AssignIPRequest{Type: models.IPAssignmentTypeEgressV4, Region: "ams"})
	if !egress.Egress || egress.Region != "ams" || !inPrefix(egress.IP, "192.0.2.0/24") {
		t.Errorf("egress v4: %+v", egress)
	}
	pair := assignIP(t, c, "ip-app", &models.AssignIPRequest{Type: models.IPAssignmentTypeEgressPair})
	if pair.IP != "" || !inPrefix(pair.IPPair.V4, "192.0.2.0/24") || !inPrefix(pair.IPPair.V6, "2001:db8::/32") || pair.Region != "ord" {
		t.Errorf("egress pair: %+v", pair)
	}

	list, err := c.IPAssignments.List(ctx, "ip-app")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(list.Ips); n != 7 { // v4, shared, v6, private, egress, and the pair's two
		t.Errorf("list: %d addresses", n)
	}

	// Delete takes the address in any spelling; a second delete is 404.
	long := strings.Replace(netip.MustParseAddr(v6.IP).StringExpanded(), "2001:0db8", "2001:db8", 1)
	if err := c.IPAssignments.Delete(ctx, "ip-app", long); err != nil {
		t.Fatalf("delete %s: %v", long, err)
	}
	err = c.IPAssignments.Delete(ctx, "ip-app", v6.IP)
	wantStatus(t, "delete twice", err, http.StatusNotFound)
	err = c.IPAssignments.Delete(ctx, "ip-app", v4b.IP)
	wantStatus(t, "delete another app's address", err, http.StatusNotFound)
	err = c.IPAssignments.Delete(ctx, "ip-app", "not-an-ip")
	wantStatus(t, "delete garbage", err, http.StatusBadRequest)
	// A released dedicated address goes back to the pool.
	if err := c.IPAssignments.Delete(ctx, "ip-app", v4.IP); err != nil {
		t.Fatal(err)
	}
	if again := assignIP(t, c, "ip-other", &models.AssignIPRequest{Type: models.IPAssignmentTypeV4}); again.IP != v4.IP {
		t.Errorf("released %s, then got %s", v4.IP, again.IP)
	}
}

func TestIPAssignmentsInvalid(t *testing.T) {
	_, c := newResourceClient(t)
	mustCreateApp(t, c, "ip-app")
	for _, tc := range []struct {
		name   string
		app    string
		req    models.AssignIPRequest
		status int
	}{
		{"no type", "ip-app", models.AssignIPRequest{}, 400},
		{"unknown type", "ip-app", models.AssignIPRequest{Type: "v5"}, 400},
		{"unknown region", "ip-app", models.AssignIPRequest{Type: models.IPAssignmentTypeEgressV4, Region: "zzz"}, 400},
		{"network on a public address", "ip-app", models.AssignIPRequest{Type: models.IPAssignmentTypeV4, Network: "n"}, 400},
		{"unknown app", "no-app", models.AssignIPRequest{Type: models.IPAssignmentTypeV4}, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.IPAssignments.Create(context.Background(), tc.app, &tc.req)
			wantStatus(t, tc.name, err, tc.status)
		})
	}
	_, err := c.IPAssignments.List(context.Background(), "no-app")
	wantStatus(t, "list of an unknown app", err, http.StatusNotFound)
}

func TestDeployToken(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "tok-app")
	tok, err := c.Apps.CreateDeployToken(ctx, "tok-app", &models.CreateAppDeployTokenRequest{Expiry: "720h"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.Token, "FlyV1 fm2_") || len(tok.Token) < 100 {
		t.Errorf("token %q", tok.Token)
	}
	_, err = c.Apps.CreateDeployToken(ctx, "tok-app", &models.CreateAppDeployTokenRequest{Expiry: "forever"})
	wantStatus(t, "bad expiry", err, http.StatusBadRequest)
	_, err = c.Apps.CreateDeployToken(ctx, "no-app", &models.CreateAppDeployTokenRequest{})
	wantStatus(t, "unknown app", err, http.StatusNotFound)
}
