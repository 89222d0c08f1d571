package flytest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// The emulator has no DNS. A certificate check finds the hostname's records
// in place, and ACME issuance succeeds, for every hostname except those
// under .invalid, which RFC 6761 guarantees never resolve: use them to see
// a check fail.
const (
	unresolvableSuffix = ".invalid"
	acmeLifetime       = 90 * 24 * time.Hour
	acmeAuthority      = "lets_encrypt"
	acmeIssuer         = "Let's Encrypt"
)

// Certificate list paging: limit defaults to 25 and stops at 500.
const (
	certPageDefault = 25
	certPageMax     = 500
)

// hostnameLabel is one DNS label of a hostname.
var hostnameLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// certificate is the TLS state of one hostname of an app. Guarded by
// Emulator.mu.
type certificate struct {
	hostname             string
	createdAt, updatedAt time.Time
	acmeRequested        bool
	acmeIssuedAt         time.Time // zero until a check finds DNS in place
	dnsOK                bool      // the last check found DNS in place
	validationErrors     []*models.CertificateValidationError
	custom               *customCert
}

func (e *Emulator) appCertificatesAcmeCreate(w http.ResponseWriter, r *http.Request) {
	var req models.CreateAcmeCertificateRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	host, ok := normalizeHostname(w, req.Hostname)
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	c, ok := e.claimHostname(w, a, host)
	if !ok {
		return
	}
	if !c.acmeRequested {
		c.acmeRequested = true
		c.updatedAt = e.cfg.clock.Now()
	}
	writeJSON(w, http.StatusCreated, certAnswer(c.detail(a)))
}

func (e *Emulator) appCertificatesCustomCreate(w http.ResponseWriter, r *http.Request) {
	var req models.CreateCustomCertificateRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	host, ok := normalizeHostname(w, req.Hostname)
	if !ok {
		return
	}
	cc, err := parseCustomCert(host, req.Fullchain, req.PrivateKey, e.cfg.clock.Now())
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "", err.Error())
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	c, ok := e.claimHostname(w, a, host)
	if !ok {
		return
	}
	c.custom = cc
	c.updatedAt = cc.createdAt
	writeJSON(w, http.StatusCreated, certAnswer(c.detail(a)))
}

func (e *Emulator) appCertificatesShow(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c := e.lookupCert(w, r)
	if c == nil {
		return
	}
	writeJSON(w, http.StatusOK, certAnswer(c.detail(a)))
}

func (e *Emulator) appCertificatesList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := certPageDefault
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			invalid(w, "limit must be a positive integer, got %q", s)
			return
		}
		limit = min(n, certPageMax)
	}
	_, offset, ok := pageParams(w, r)
	if !ok {
		return
	}
	filter := strings.ToLower(q.Get("filter"))
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.lookupApp(w, r)
	if a == nil {
		return
	}
	var all []*models.CertificateSummary
	for host, c := range a.certs {
		if strings.Contains(host, filter) {
			all = append(all, c.summary())
		}
	}
	slices.SortFunc(all, func(x, y *models.CertificateSummary) int { return strings.Compare(x.Hostname, y.Hostname) })
	page, next := paginate(all, limit, offset)
	out := make([]object, 0, len(page))
	for _, c := range page {
		out = append(out, certSummaryAnswer(c))
	}
	resp := object{}.set("certificates", out).set("total_count", len(all))
	if next != "" {
		resp.set("next_cursor", next)
	}
	writeJSON(w, http.StatusOK, resp)
}

// appCertificatesCheck looks the hostname's DNS up (see unresolvableSuffix)
// and, when it is in place, issues the requested ACME certificates.
func (e *Emulator) appCertificatesCheck(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c := e.lookupCert(w, r)
	if c == nil {
		return
	}
	now := e.cfg.clock.Now()
	c.dnsOK = !strings.HasSuffix(c.hostname, unresolvableSuffix)
	c.updatedAt = now
	c.validationErrors = nil
	if c.dnsOK {
		if c.acmeRequested && c.acmeIssuedAt.IsZero() {
			c.acmeIssuedAt = now
		}
	} else {
		c.validationErrors = []*models.CertificateValidationError{{
			Code:        "dns_not_configured",
			Message:     fmt.Sprintf("%s has no A, AAAA or CNAME record pointing at the app", c.hostname),
			Remediation: fmt.Sprintf("add a CNAME record for %s to %s, or A/AAAA records to the app's addresses", c.hostname, a.name+".fly.dev"),
			Timestamp:   wireTime(now),
		}}
	}
	d := c.detail(a)
	resp := models.CertificateCheckResponse{
		AcmeRequested: d.AcmeRequested, Certificates: d.Certificates, Configured: d.Configured,
		DNSRequirements: d.DNSRequirements, Hostname: d.Hostname, Status: d.Status,
		Validation: d.Validation, ValidationErrors: d.ValidationErrors,
		DNSRecords: &models.DNSRecords{A: []string{}, Aaaa: []string{}, Cname: []string{}, ResolvedAddresses: []string{}},
	}
	if c.dnsOK {
		req := d.DNSRequirements
		resp.DNSRecords = &models.DNSRecords{
			A: req.A, Aaaa: req.Aaaa, Cname: []string{req.Cname},
			AcmeChallengeCname: req.AcmeChallenge.Target,
			ResolvedAddresses:  append(slices.Clone(req.A), req.Aaaa...),
			Soa:                "ns1.flytest.invalid. hostmaster.flytest.invalid. 1 7200 3600 1209600 300",
		}
	}
	writeJSON(w, http.StatusOK, certAnswer(resp))
}

func (e *Emulator) appCertificatesDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c := e.lookupCert(w, r)
	if c == nil {
		return
	}
	delete(a.certs, c.hostname)
	w.WriteHeader(http.StatusNoContent)
}

// appCertificatesAcmeDelete drops the ACME certificates; the hostname stays,
// with its custom certificate if it has one.
func (e *Emulator) appCertificatesAcmeDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c := e.lookupCert(w, r)
	if c == nil {
		return
	}
	if !c.acmeRequested {
		notFound(w, "%s has no ACME certificate", c.hostname)
		return
	}
	c.acmeRequested, c.acmeIssuedAt = false, time.Time{}
	c.updatedAt = e.cfg.clock.Now()
	writeJSON(w, http.StatusOK, certAnswer(c.detail(a)))
}

// appCertificatesCustomDelete drops the custom certificate; the hostname
// stays, with a warning when nothing serves it any more.
func (e *Emulator) appCertificatesCustomDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, c := e.lookupCert(w, r)
	if c == nil {
		return
	}
	if c.custom == nil {
		notFound(w, "%s has no custom certificate", c.hostname)
		return
	}
	c.custom = nil
	c.updatedAt = e.cfg.clock.Now()
	d := c.detail(a)
	resp := models.DestroyCustomCertificateResponse{
		AcmeRequested: d.AcmeRequested, Certificates: d.Certificates, Configured: d.Configured,
		DNSRequirements: d.DNSRequirements, Hostname: d.Hostname, Status: d.Status,
		Validation: d.Validation, ValidationErrors: d.ValidationErrors,
	}
	if !d.Configured {
		resp.Warning = "no certificate serves " + c.hostname + " any more: TLS connections to it fail until one is issued or uploaded"
	}
	writeJSON(w, http.StatusOK, resp)
}

// normalizeHostname lowercases a hostname and checks its form: DNS labels,
// at least two, an optional leading "*." wildcard, no IP address. A bad
// one answers 422, as the API does.
func normalizeHostname(w http.ResponseWriter, raw string) (string, bool) {
	host := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(raw)), ".")
	labels := strings.Split(strings.TrimPrefix(host, "*."), ".")
	ok := len(host) <= 253 && len(labels) >= 2
	for _, l := range labels {
		ok = ok && hostnameLabel.MatchString(l)
	}
	// An all-numeric last label would make it an IPv4 address.
	if ok {
		if _, err := strconv.Atoi(labels[len(labels)-1]); err == nil {
			ok = false
		}
	}
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("%q is not a valid hostname", raw))
		return "", false
	}
	return host, true
}

// claimHostname returns the app's certificate of host, adding it if new. A
// hostname can belong to one app only: another app's answers 422. Call
// with e.mu held.
func (e *Emulator) claimHostname(w http.ResponseWriter, a *app, host string) (*certificate, bool) {
	if c := a.certs[host]; c != nil {
		return c, true
	}
	for _, other := range e.st.apps {
		if other != a && other.certs[host] != nil {
			writeError(w, http.StatusUnprocessableEntity, "", fmt.Sprintf("hostname %s is already configured on another app", host))
			return nil, false
		}
	}
	now := e.cfg.clock.Now()
	c := &certificate{hostname: host, createdAt: now, updatedAt: now}
	a.certs[host] = c
	return c, true
}

// lookupCert finds the {hostname} of the {app_name}, or answers 404. Call
// with e.mu held.
func (e *Emulator) lookupCert(w http.ResponseWriter, r *http.Request) (*app, *certificate) {
	a := e.lookupApp(w, r)
	if a == nil {
		return nil, nil
	}
	host := strings.TrimSuffix(strings.ToLower(r.PathValue("hostname")), ".")
	c := a.certs[host]
	if c == nil {
		notFound(w, "no certificate for %s in app %s", host, a.name)
		return a, nil
	}
	return a, c
}

// active reports whether a certificate serves the hostname now.
func (c *certificate) active() bool {
	return c.custom != nil || !c.acmeIssuedAt.IsZero()
}

func (c *certificate) status() string {
	switch {
	case c.active():
		return models.CertificateEntryStatusActive
	case c.acmeRequested:
		return models.CertificateEntryStatusPendingValidation
	}
	return "not_configured"
}

func (c *certificate) detail(a *app) *models.CertificateDetail {
	d := &models.CertificateDetail{
		Hostname: c.hostname, AcmeRequested: c.acmeRequested, Configured: c.active(), Status: c.status(),
		Certificates:     []*models.CertificateEntry{},
		ValidationErrors: append([]*models.CertificateValidationError{}, c.validationErrors...),
		DNSRequirements:  c.requirements(a),
		Validation: &models.CertificateValidation{
			DNSConfigured: c.dnsOK, AlpnConfigured: c.dnsOK, HTTPConfigured: c.dnsOK,
		},
	}
	if c.acmeRequested {
		entry := &models.CertificateEntry{
			Source: models.CertificateEntrySourceFly, Status: models.CertificateEntryStatusPendingValidation,
			CreatedAt: wireTime(c.createdAt), Issued: []*models.IssuedCertificate{},
		}
		if !c.acmeIssuedAt.IsZero() {
			expires := wireTime(c.acmeIssuedAt.Add(acmeLifetime))
			entry.Status, entry.Issuer, entry.ExpiresAt = models.CertificateEntryStatusActive, acmeIssuer, expires
			entry.Issued = []*models.IssuedCertificate{
				{Type: models.IssuedCertificateTypeEcdsa, CertificateAuthority: acmeAuthority, ExpiresAt: expires},
				{Type: models.IssuedCertificateTypeRsa, CertificateAuthority: acmeAuthority, ExpiresAt: expires},
			}
		}
		d.Certificates = append(d.Certificates, entry)
	}
	if cc := c.custom; cc != nil {
		expires := wireTime(cc.notAfter)
		d.Certificates = append(d.Certificates, &models.CertificateEntry{
			Source: models.CertificateEntrySourceCustom, Status: models.CertificateEntryStatusActive,
			CreatedAt: wireTime(cc.createdAt), ExpiresAt: expires, Issuer: cc.issuer,
			Issued: []*models.IssuedCertificate{{Type: cc.keyType, CertificateAuthority: cc.issuer, ExpiresAt: expires}},
		})
	}
	return d
}

// requirements are the DNS records the hostname needs: address records for
// the app's public addresses or a CNAME to the app, the ACME DNS-01
// delegation, and the ownership TXT record.
func (c *certificate) requirements(a *app) *models.DNSRequirements {
	req := &models.DNSRequirements{A: []string{}, Aaaa: []string{}, Cname: a.name + ".fly.dev"}
	for _, ip := range a.ips {
		switch {
		case ip.egress || ip.flycast:
		case ip.ip.Is4():
			req.A = append(req.A, ip.ip.String())
		default:
			req.Aaaa = append(req.Aaaa, ip.ip.String())
		}
	}
	base := strings.TrimPrefix(c.hostname, "*.")
	req.AcmeChallenge = &models.AcmeChallenge{
		Name:   "_acme-challenge." + base,
		Target: base + "." + tokenHash(a.id+base, 3) + ".flydns.net",
	}
	req.Ownership = &models.OwnershipVerification{
		Name:     "_fly-ownership." + base,
		AppValue: "app-" + tokenHash(a.id, 10),
		OrgValue: "org-" + tokenHash(a.org, 10),
	}
	return req
}

func (c *certificate) summary() *models.CertificateSummary {
	return &models.CertificateSummary{
		Hostname: c.hostname, Status: c.status(), Configured: c.active(), AcmeRequested: c.acmeRequested,
		AcmeDNSConfigured: c.dnsOK, AcmeAlpnConfigured: c.dnsOK, AcmeHTTPConfigured: c.dnsOK,
		HasCustomCertificate: c.custom != nil, HasFlyCertificate: !c.acmeIssuedAt.IsZero(),
		CreatedAt: wireTime(c.createdAt), UpdatedAt: wireTime(c.updatedAt),
	}
}
