package flytest

import (
	"net/http"
	"slices"
	"strings"

	"github.com/flymachines/flymachines-go/models"
)

// regionInfo is what the emulator knows of a platform region.
type regionInfo struct {
	name, geo string
	lat, lon  float64
	mpg       bool // offers Managed Postgres
	gpus      bool // has GPU hosts
}

// regionTable describes defaultRegions. A region configured without an
// entry here gets its code as name and the "unknown" geo region.
var regionTable = map[string]regionInfo{
	"ams": {"Amsterdam, Netherlands", "europe", 52.37, 4.90, true, true},
	"arn": {"Stockholm, Sweden", "europe", 59.65, 17.93, false, false},
	"bog": {"Bogotá, Colombia", "south_america", 4.70, -74.14, false, false},
	"bom": {"Mumbai, India", "asia_pacific", 19.09, 72.87, false, false},
	"cdg": {"Paris, France", "europe", 48.86, 2.35, false, false},
	"dfw": {"Dallas, Texas (US)", "north_america", 32.78, -96.80, false, false},
	"ewr": {"Secaucus, NJ (US)", "north_america", 40.79, -74.06, false, false},
	"fra": {"Frankfurt, Germany", "europe", 50.11, 8.68, true, false},
	"gru": {"Sao Paulo, Brazil", "south_america", -23.55, -46.63, true, false},
	"iad": {"Ashburn, Virginia (US)", "north_america", 39.04, -77.49, true, true},
	"jnb": {"Johannesburg, South Africa", "africa", -26.20, 28.05, true, false},
	"lax": {"Los Angeles, California (US)", "north_america", 33.94, -118.41, true, false},
	"lhr": {"London, United Kingdom", "europe", 51.51, -0.13, true, false},
	"mad": {"Madrid, Spain", "europe", 40.42, -3.70, false, false},
	"mia": {"Miami, Florida (US)", "north_america", 25.79, -80.29, false, false},
	"nrt": {"Tokyo, Japan", "asia_pacific", 35.62, 139.75, true, false},
	"ord": {"Chicago, Illinois (US)", "north_america", 41.88, -87.63, true, true},
	"otp": {"Bucharest, Romania", "europe", 44.43, 26.10, false, false},
	"phx": {"Phoenix, Arizona (US)", "north_america", 33.45, -112.07, false, false},
	"qro": {"Querétaro, Mexico", "north_america", 20.59, -100.39, false, false},
	"scl": {"Santiago, Chile", "south_america", -33.45, -70.67, false, false},
	"sea": {"Seattle, Washington (US)", "north_america", 47.61, -122.33, false, false},
	"sin": {"Singapore, Singapore", "asia_pacific", 1.35, 103.82, true, false},
	"sjc": {"San Jose, California (US)", "north_america", 37.35, -121.96, true, true},
	"syd": {"Sydney, Australia", "asia_pacific", -33.87, 151.21, true, false},
	"waw": {"Warsaw, Poland", "europe", 52.23, 21.01, false, false},
	"yul": {"Montreal, Canada", "north_america", 45.50, -73.57, false, false},
	"yyz": {"Toronto, Canada", "north_america", 43.65, -79.38, true, false},
}

func regionOf(code string) regionInfo {
	if info, ok := regionTable[code]; ok {
		return info
	}
	return regionInfo{name: code, geo: "unknown", mpg: true}
}

// platformRegionsGet lists the configured regions; the nearest one is the
// default region.
func (e *Emulator) platformRegionsGet(w http.ResponseWriter, r *http.Request) {
	resp := models.MainRegionResponse{Nearest: e.cfg.defaultRegion, Regions: make([]*models.MainRegionRow, 0, len(e.cfg.regions))}
	for _, code := range e.cfg.regions {
		info := regionOf(code)
		resp.Regions = append(resp.Regions, &models.MainRegionRow{
			Code: code, Name: info.name, GeoRegion: info.geo, Latitude: info.lat, Longitude: info.lon,
			GatewayAvailable: true, MpgAvailable: info.mpg,
		})
	}
	writeJSON(w, http.StatusOK, resp)
}

// Capacity figures for placements: each region takes this many Machine
// units, where a unit is one shared CPU or one GB of memory (a performance
// CPU counts 4); GPU Machines need GPU hosts, each region with them takes
// gpuSlots GPUs.
const (
	regionUnits = 2000
	gpuSlots    = 8
)

// platformPlacementsPost places count Machines of the given size across the
// regions the region expression names: region codes and geo regions
// (europe, north_america, ...), comma-separated; all regions when empty,
// the nearest first. By default Machines fill the first region with room,
// then the next; a positive "spread" weight deals them out round-robin.
// count 0 answers each region's limit instead. A request that does not fit
// is placed as far as it fits.
func (e *Emulator) platformPlacementsPost(w http.ResponseWriter, r *http.Request) {
	var req models.MainGetPlacementsRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	if req.Count < 0 {
		invalid(w, "count must not be negative, got %d", req.Count)
		return
	}
	if req.VolumeSizeBytes < 0 || req.VolumeSizeBytes > maxVolumeGB*gib {
		invalid(w, "volume_size_bytes must be between 0 and %d", int64(maxVolumeGB*gib))
		return
	}
	regions, bad := e.expandRegions(req.Region)
	if bad != "" {
		invalid(w, "region expression %q: %q is neither a region nor a geo region", req.Region, bad)
		return
	}
	weights := map[string]int64(req.Weights)

	var g models.FlyMachineGuest
	if req.Compute != nil {
		g = *req.Compute
	}
	perRegion := int64(regionUnits) / max(1, guestUnits(&g))
	capacity := make([]int64, len(regions))
	for i, code := range regions {
		capacity[i] = perRegion
		if g.Gpus > 0 {
			capacity[i] = 0
			if regionOf(code).gpus {
				capacity[i] = gpuSlots / g.Gpus
			}
		}
	}
	placed := make([]int64, len(regions))
	if req.Count == 0 {
		copy(placed, capacity)
	} else if weights["spread"] > 0 {
		for left := req.Count; left > 0; {
			progress := false
			for i := range regions {
				if left > 0 && placed[i] < capacity[i] {
					placed[i]++
					left--
					progress = true
				}
			}
			if !progress {
				break
			}
		}
	} else {
		left := req.Count
		for i := range regions {
			placed[i] = min(left, capacity[i])
			left -= placed[i]
		}
	}
	resp := models.MainGetPlacementsResponse{Regions: []*models.PlacementRegionPlacement{}}
	for i, code := range regions {
		if placed[i] > 0 {
			resp.Regions = append(resp.Regions, &models.PlacementRegionPlacement{Region: code, Count: placed[i]})
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

// expandRegions turns a region expression into region codes, without
// duplicates; bad is the first term that names nothing.
func (e *Emulator) expandRegions(expr string) (codes []string, bad string) {
	if strings.TrimSpace(expr) == "" {
		codes = append(codes, e.cfg.defaultRegion)
		for _, c := range e.cfg.regions {
			if c != e.cfg.defaultRegion {
				codes = append(codes, c)
			}
		}
		return codes, ""
	}
	add := func(c string) {
		if !slices.Contains(codes, c) {
			codes = append(codes, c)
		}
	}
	for term := range strings.SplitSeq(expr, ",") {
		term = strings.TrimSpace(term)
		switch {
		case term == "":
		case e.regionKnown(term):
			add(term)
		default:
			found := false
			for _, c := range e.cfg.regions {
				if regionOf(c).geo == term {
					add(c)
					found = true
				}
			}
			if !found {
				return nil, term
			}
		}
	}
	return codes, ""
}

// guestUnits is the size of a Machine in placement units.
func guestUnits(g *models.FlyMachineGuest) int64 {
	cpus := max(1, g.Cpus)
	if g.CPUKind == "performance" {
		cpus *= 4
	}
	return cpus + g.MemoryMb/1024
}
