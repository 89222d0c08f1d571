package flytest

import (
	"cmp"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// The emulator hands out addresses from ranges reserved for documentation
// (RFC 5737, RFC 3849), so none of them routes anywhere, and Flycast
// addresses from Fly's private fdaa::/16.
var (
	ipv4Pools  = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("203.0.113.0/24")}
	sharedIPv4 = netip.MustParseAddr("192.0.2.1") // shared by every app, like Fly's shared anycast address
	ipv6Pool   = netip.MustParsePrefix("2001:db8::/32")
)

// ipAssignment is one IP address of an app. Guarded by Emulator.mu.
type ipAssignment struct {
	ip           netip.Addr
	region       string // "global" for anycast addresses
	shared       bool
	egress       bool
	network, org string // Flycast (private_v6) only
	serviceName  string
	createdAt    time.Time
	flycast      bool // private_v6
}

func (e *Emulator) appIPAssignmentsList(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	out := make([]*models.IPAssignment, 0, len(a.ips))
	for _, ip := range a.ips {
		out = append(out, ip.model())
	}
	writeJSON(w, http.StatusOK, models.ListIPAssignmentsResponse{Ips: out})
}

// appIPAssignmentsCreate allocates an address. Asking again for a shared
// IPv4 the app already has answers the one it has.
func (e *Emulator) appIPAssignmentsCreate(w http.ResponseWriter, r *http.Request) {
	var req models.AssignIPRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	if req.Type == "" {
		invalid(w, "type is required: v4, v6, shared_v4, private_v6, egress_v4, egress_v6 or egress_pair")
		return
	}
	egress := req.Type == models.IPAssignmentTypeEgressV4 || req.Type == models.IPAssignmentTypeEgressV6 || req.Type == models.IPAssignmentTypeEgressPair
	if req.Region != "" && !e.regionKnown(req.Region) {
		invalid(w, "region %q is not a platform region", req.Region)
		return
	}
	if req.Network != "" && req.Type != models.IPAssignmentTypePrivateV6 {
		invalid(w, "network applies to private_v6 addresses only")
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	now := e.cfg.clock.Now()
	region := "global"
	if egress {
		region = cmp.Or(req.Region, e.cfg.defaultRegion)
	}
	base := ipAssignment{region: region, egress: egress, serviceName: req.ServiceName, createdAt: now}
	var added []*ipAssignment
	switch req.Type {
	case models.IPAssignmentTypeSharedV4:
		for _, ip := range a.ips {
			if ip.shared {
				writeJSON(w, http.StatusOK, ip.assignModel())
				return
			}
		}
		ip := base
		ip.ip, ip.shared = sharedIPv4, true
		added = append(added, &ip)
	case models.IPAssignmentTypeV4, models.IPAssignmentTypeEgressV4, models.IPAssignmentTypeEgressPair:
		v4, ok := e.freeIPv4()
		if !ok {
			writeError(w, http.StatusUnprocessableEntity, string(models.MainStatusCodeInsufficientCapacity), "no dedicated IPv4 address is left to assign")
			return
		}
		ip := base
		ip.ip = v4
		added = append(added, &ip)
		if req.Type == models.IPAssignmentTypeEgressPair {
			v6 := base
			v6.ip = e.freeIPv6(ipv6Pool)
			added = append(added, &v6)
		}
	case models.IPAssignmentTypeV6, models.IPAssignmentTypeEgressV6:
		ip := base
		ip.ip = e.freeIPv6(ipv6Pool)
		added = append(added, &ip)
	case models.IPAssignmentTypePrivateV6:
		ip := base
		ip.flycast = true
		ip.org = cmp.Or(req.OrgSlug, a.org)
		ip.network = req.Network
		ip.ip = e.freeIPv6(flycastPrefix(ip.org, ip.network))
		added = append(added, &ip)
	}
	a.ips = append(a.ips, added...)
	if req.Type == models.IPAssignmentTypeEgressPair {
		resp := added[0].assignModel()
		resp.IP = ""
		resp.IPPair = &models.IPPair{V4: added[0].ip.String(), V6: added[1].ip.String()}
		writeJSON(w, http.StatusOK, resp)
		return
	}
	writeJSON(w, http.StatusOK, added[0].assignModel())
}

func (e *Emulator) appIPAssignmentsDelete(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("ip")
	addr, err := netip.ParseAddr(raw)
	if err != nil {
		invalid(w, "%q is not an IP address", raw)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	i := slices.IndexFunc(a.ips, func(ip *ipAssignment) bool { return ip.ip == addr })
	if i < 0 {
		notFound(w, "IP address %s is not assigned to app %s", addr, a.name)
		return
	}
	a.ips = slices.Delete(a.ips, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}

// appCreateDeployToken answers a well-formed but fake deploy token. expiry,
// if given, must be a Go duration ("720h").
func (e *Emulator) appCreateDeployToken(w http.ResponseWriter, r *http.Request) {
	var req models.CreateAppDeployTokenRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	if req.Expiry != "" {
		d, err := time.ParseDuration(req.Expiry)
		if err != nil || d <= 0 {
			invalid(w, "expiry must be a positive duration such as 720h, got %q", req.Expiry)
			return
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lookupApp(w, r) == nil {
		return
	}
	writeJSON(w, http.StatusOK, models.CreateAppDeployTokenResponse{Token: newFlyV1Token()})
}

// newFlyV1Token returns a token shaped like Fly's macaroon tokens: the
// FlyV1 scheme and an fm2_ body. It carries no meaning.
func newFlyV1Token() string {
	return "FlyV1 fm2_" + base64.StdEncoding.EncodeToString(randomBytes(96))
}

// usedIPs is every address assigned to any app. Call with e.mu held.
func (e *Emulator) usedIPs() map[netip.Addr]bool {
	used := map[netip.Addr]bool{sharedIPv4: true}
	for _, a := range e.st.apps {
		for _, ip := range a.ips {
			used[ip.ip] = true
		}
	}
	return used
}

// freeIPv4 returns the lowest unassigned address of the IPv4 pools.
func (e *Emulator) freeIPv4() (netip.Addr, bool) {
	used := e.usedIPs()
	for _, p := range ipv4Pools {
		// Skip the network address; stop before the broadcast address.
		for ip := p.Addr().Next(); p.Contains(ip.Next()); ip = ip.Next() {
			if !used[ip] {
				return ip, true
			}
		}
	}
	return netip.Addr{}, false
}

// freeIPv6 returns a random unassigned address in prefix p.
func (e *Emulator) freeIPv6(p netip.Prefix) netip.Addr {
	used := e.usedIPs()
	for {
		if ip := randomAddrIn(p); !used[ip] {
			return ip
		}
	}
}

// randomAddrIn returns an address of p with random host bits.
func randomAddrIn(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As16()
	r := randomBytes(16)
	for i := range b {
		keep := min(max(p.Bits()-i*8, 0), 8) // prefix bits in this byte
		mask := byte(0xff << (8 - keep))
		b[i] = b[i]&mask | r[i]&^mask
	}
	return netip.AddrFrom16(b)
}

// flycastPrefix is the Flycast range of an org's network (the default
// network when name is empty): fdaa:0:NNNN:0:1::/80, NNNN from the names.
func flycastPrefix(org, network string) netip.Prefix {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s/%s", org, network)
	var b [16]byte
	b[0], b[1] = 0xfd, 0xaa
	binary.BigEndian.PutUint16(b[4:], uint16(h.Sum32()))
	b[9] = 1
	return netip.PrefixFrom(netip.AddrFrom16(b), 80)
}

func (ip *ipAssignment) model() *models.IPAssignment {
	m := &models.IPAssignment{
		IP: ip.ip.String(), Region: ip.region, Shared: ip.shared, Egress: ip.egress,
		ServiceName: ip.serviceName, CreatedAt: wireTime(ip.createdAt),
	}
	if ip.flycast {
		m.Network = &models.IPAssignmentNetwork{Name: ip.network, OrgSlug: ip.org}
	}
	return m
}

func (ip *ipAssignment) assignModel() *models.AssignIPResponse {
	m := ip.model()
	return &models.AssignIPResponse{
		IP: m.IP, Region: m.Region, Shared: m.Shared, Egress: m.Egress,
		ServiceName: m.ServiceName, CreatedAt: m.CreatedAt, Network: m.Network,
	}
}
