package flytest

import (
	"context"
	"net/http"
	"testing"

	"github.com/go-openapi/swag/conv"

	"github.com/flymachines/flymachines-go/models"
)

func TestPlatformRegions(t *testing.T) {
	_, c := newResourceClient(t, WithDefaultRegion("ams"))
	res, err := c.Platform.Regions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Nearest != "ams" || len(res.Regions) != len(defaultRegions) {
		t.Fatalf("regions: nearest %q, %d regions", res.Nearest, len(res.Regions))
	}
	for _, r := range res.Regions {
		if r.Name == "" || r.GeoRegion == "" || r.Latitude == 0 || !r.GatewayAvailable {
			t.Errorf("region %+v", r)
		}
	}
}

func TestPlatformPlacements(t *testing.T) {
	srv, c := newResourceClient(t)
	place := func(req models.MainGetPlacementsRequest) map[string]int64 {
		t.Helper()
		req.OrgSlug = conv.Pointer("personal")
		res, err := c.Platform.Placements(context.Background(), &req)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, p := range res.Regions {
			out[p.Region] = p.Count
		}
		return out
	}
	if got := place(models.MainGetPlacementsRequest{Region: "ams", Count: 3}); len(got) != 1 || got["ams"] != 3 {
		t.Errorf("3 in ams: %v", got)
	}
	spread := models.MainGetPlacementsRequest{Region: "ams,fra,lhr", Count: 7}
	spread.Weights = models.PlacementWeights{"spread": 1}
	if got := place(spread); got["ams"] != 3 || got["fra"] != 2 || got["lhr"] != 2 {
		t.Errorf("7 spread over three regions: %v", got)
	}
	if got := place(models.MainGetPlacementsRequest{Region: "ams,fra", Count: 7}); got["ams"] != 7 || len(got) != 1 {
		t.Errorf("7 packed: %v", got)
	}
	europe := place(models.MainGetPlacementsRequest{Region: "europe"})
	if len(europe) < 5 || europe["ams"] != regionUnits/1 || europe["ord"] != 0 {
		t.Errorf("limits in europe: %v", europe)
	}
	big := models.MainGetPlacementsRequest{Region: "ord"}
	big.Compute = &models.FlyMachineGuest{Cpus: 4, CPUKind: "performance", MemoryMb: 8192}
	if got := place(big); got["ord"] != regionUnits/(16+8) {
		t.Errorf("limit for performance-4x: %v", got)
	}
	gpu := models.MainGetPlacementsRequest{Region: "ord,fra", Count: 2}
	gpu.Compute = &models.FlyMachineGuest{Gpus: 1, GpuKind: "a100-pcie-40gb"}
	if got := place(gpu); got["ord"] != 2 || got["fra"] != 0 {
		t.Errorf("GPU placement: %v", got)
	}
	if got := place(models.MainGetPlacementsRequest{Count: 1}); got["ord"] != 1 {
		t.Errorf("no region expression starts at the nearest region: %v", got)
	}

	// The API's own form of weights, a bare object, is read too.
	status, body := rawCall(t, srv, http.MethodPost, "/v1/platform/placements", `{"org_slug":"personal","region":"ams,fra","count":2,"weights":{"spread":1}}`)
	if status != 200 || body != `{"regions":[{"count":1,"region":"ams"},{"count":1,"region":"fra"}]}`+"\n" {
		t.Errorf("bare weights: %d %s", status, body)
	}

	for name, req := range map[string]models.MainGetPlacementsRequest{
		"unknown region": {OrgSlug: conv.Pointer("personal"), Region: "atlantis"},
		"negative count": {OrgSlug: conv.Pointer("personal"), Count: -1},
		"no org":         {Region: "ams"},
	} {
		_, err := c.Platform.Placements(context.Background(), &req)
		wantStatus(t, name, err, http.StatusBadRequest)
	}
}
