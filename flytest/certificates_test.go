package flytest

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/client/certificates"
	"github.com/flymachines/flymachines-go/models"
)

// testCert makes a self-signed certificate for hosts with the given key,
// valid from notBefore for the given time, as PEM.
func testCert(t *testing.T, key crypto.Signer, hosts []string, notBefore time.Time, valid time.Duration) (chain, keyPEM string) {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(valid),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}))
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func acmeCreate(t *testing.T, c *client.API, appName, host string) *models.CertificateDetail {
	t.Helper()
	d, err := c.Certificates.CreateACME(context.Background(), appName, &models.CreateAcmeCertificateRequest{Hostname: host})
	if err != nil {
		t.Fatalf("acme create %s: %v", host, err)
	}
	return d
}

func TestCertificatesAcme(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "web-app")
	v4, err := c.IPAssignments.Create(ctx, "web-app", &models.AssignIPRequest{Type: models.IPAssignmentTypeV4})
	if err != nil {
		t.Fatal(err)
	}

	d := acmeCreate(t, c, "web-app", "WWW.Example.com")
	if d.Hostname != "www.example.com" || !d.AcmeRequested || d.Configured || d.Status != "pending_validation" {
		t.Errorf("created: %+v", d)
	}
	req := d.DNSRequirements
	if req.Cname != "web-app.fly.dev" || len(req.A) != 1 || req.A[0] != v4.IP ||
		req.AcmeChallenge.Name != "_acme-challenge.www.example.com" || !strings.HasSuffix(req.AcmeChallenge.Target, ".flydns.net") ||
		req.Ownership.Name != "_fly-ownership.www.example.com" || req.Ownership.AppValue == "" {
		t.Errorf("DNS requirements: %+v", req)
	}
	if len(d.Certificates) != 1 || d.Certificates[0].Status != "pending_validation" || d.Certificates[0].Source != "fly" {
		t.Errorf("certificates before a check: %+v", d.Certificates)
	}
	if again := acmeCreate(t, c, "web-app", "www.example.com"); again.Hostname != d.Hostname {
		t.Errorf("repeated create: %+v", again)
	}

	ck, err := c.Certificates.Check(ctx, "web-app", "www.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !ck.Configured || ck.Status != "active" || !ck.Validation.DNSConfigured || len(ck.ValidationErrors) != 0 ||
		len(ck.DNSRecords.ResolvedAddresses) != 1 || ck.DNSRecords.AcmeChallengeCname == "" {
		t.Errorf("check: %+v", ck)
	}
	issued := ck.Certificates[0]
	if issued.Status != "active" || issued.Issuer == "" || len(issued.Issued) != 2 || issued.ExpiresAt == "" {
		t.Errorf("issued: %+v", issued)
	}

	shown, err := c.Certificates.Show(ctx, "web-app", "www.example.com")
	if err != nil || !shown.Configured {
		t.Fatalf("show: %v, %v", shown, err)
	}

	acmeGone, err := c.Certificates.DeleteACME(ctx, "web-app", "www.example.com")
	if err != nil || acmeGone.AcmeRequested || acmeGone.Configured || len(acmeGone.Certificates) != 0 {
		t.Fatalf("acme delete: %v, %v", acmeGone, err)
	}
	_, err = c.Certificates.DeleteACME(ctx, "web-app", "www.example.com")
	wantStatus(t, "acme delete twice", err, http.StatusNotFound)

	if err := c.Certificates.Delete(ctx, "web-app", "www.example.com"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Certificates.Show(ctx, "web-app", "www.example.com")
	wantStatus(t, "show after delete", err, http.StatusNotFound)
	err = c.Certificates.Delete(ctx, "web-app", "www.example.com")
	wantStatus(t, "delete twice", err, http.StatusNotFound)
	_, err = c.Certificates.Check(ctx, "web-app", "www.example.com")
	wantStatus(t, "check after delete", err, http.StatusNotFound)
}

// TestCertificatesCheckFails: hostnames under .invalid never resolve.
func TestCertificatesCheckFails(t *testing.T) {
	_, c := newResourceClient(t)
	mustCreateApp(t, c, "web-app")
	acmeCreate(t, c, "web-app", "shop.example.invalid")
	ck, err := c.Certificates.Check(context.Background(), "web-app", "shop.example.invalid")
	if err != nil {
		t.Fatal(err)
	}
	if ck.Configured || ck.Status != "pending_validation" || ck.Validation.DNSConfigured || len(ck.ValidationErrors) != 1 || len(ck.DNSRecords.ResolvedAddresses) != 0 {
		t.Errorf("check of an unresolvable host: %+v", ck)
	}
}

func TestCertificatesCustom(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "web-app")
	now := time.Now()
	key := ecKey(t)
	chain, keyPEM := testCert(t, key, []string{"api.example.com"}, now.Add(-time.Hour), 30*24*time.Hour)
	otherChain, _ := testCert(t, ecKey(t), []string{"api.example.com"}, now.Add(-time.Hour), 30*24*time.Hour)
	expired, expiredKey := testCert(t, key, []string{"api.example.com"}, now.Add(-48*time.Hour), time.Hour)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edChain, edKey := testCert(t, edPriv, []string{"api.example.com"}, now.Add(-time.Hour), time.Hour*24)

	create := func(host, chain, key string) (*models.CertificateDetail, error) {
		return c.Certificates.CreateCustom(ctx, "web-app", &models.CreateCustomCertificateRequest{Hostname: host, Fullchain: chain, PrivateKey: key})
	}
	for _, tc := range []struct{ name, host, chain, key string }{
		{"garbage chain", "api.example.com", "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", keyPEM},
		{"no PEM at all", "api.example.com", "hello", keyPEM},
		{"garbage key", "api.example.com", chain, "hello"},
		{"key of another certificate", "api.example.com", otherChain, keyPEM},
		{"other hostname", "www.example.com", chain, keyPEM},
		{"expired", "api.example.com", expired, expiredKey},
		{"ed25519", "api.example.com", edChain, edKey},
	} {
		_, err := create(tc.host, tc.chain, tc.key)
		if codeOf(err) != http.StatusUnprocessableEntity || errorText(err) == "" {
			t.Errorf("%s: got %v, want 422 with a message", tc.name, err)
		}
	}

	d, err := create("api.example.com", chain, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Configured || d.Status != "active" || d.AcmeRequested || len(d.Certificates) != 1 {
		t.Fatalf("custom: %+v", d)
	}
	entry := d.Certificates[0]
	if entry.Source != "custom" || entry.Issuer != "api.example.com" || entry.Issued[0].Type != "ecdsa" || entry.ExpiresAt == "" {
		t.Errorf("custom entry: %+v", entry)
	}

	// With ACME as well, deleting the custom one leaves the hostname served
	// once checked; without, it warns.
	acmeCreate(t, c, "web-app", "api.example.com")
	gone, err := c.Certificates.DeleteCustom(ctx, "web-app", "api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if gone.Warning == "" || gone.Configured || !gone.AcmeRequested {
		t.Errorf("custom delete: %+v", gone)
	}
	_, err = c.Certificates.DeleteCustom(ctx, "web-app", "api.example.com")
	wantStatus(t, "custom delete twice", err, http.StatusNotFound)

	// An RSA certificate, with its key in PKCS #1 form.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaChain, _ := testCert(t, rsaKey, []string{"rsa.example.com"}, now.Add(-time.Hour), 24*time.Hour)
	pkcs1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}))
	d, err = create("rsa.example.com", rsaChain, pkcs1)
	if err != nil {
		t.Fatal(err)
	}
	if typ := d.Certificates[0].Issued[0].Type; typ != "rsa" {
		t.Errorf("RSA certificate typed %q", typ)
	}
}

func TestCertificatesInvalidAndTaken(t *testing.T) {
	_, c := newResourceClient(t)
	mustCreateApp(t, c, "web-app")
	mustCreateApp(t, c, "other-app")
	for _, host := range []string{"", "localhost", "192.0.2.1", "bad_label.example.com", "-x.example.com", "a..example.com"} {
		_, err := c.Certificates.CreateACME(context.Background(), "web-app", &models.CreateAcmeCertificateRequest{Hostname: host})
		if codeOf(err) != http.StatusUnprocessableEntity || errorBody(err) == nil {
			t.Errorf("hostname %q: got %v, want 422", host, err)
		}
	}
	acmeCreate(t, c, "web-app", "*.example.com")
	_, err := c.Certificates.CreateACME(context.Background(), "other-app", &models.CreateAcmeCertificateRequest{Hostname: "*.example.com"})
	wantStatus(t, "a hostname of another app", err, http.StatusUnprocessableEntity)
	_, err = c.Certificates.CreateACME(context.Background(), "no-app", &models.CreateAcmeCertificateRequest{Hostname: "x.example.com"})
	wantStatus(t, "unknown app", err, http.StatusNotFound)
}

func TestCertificatesList(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "web-app")
	for _, h := range []string{"a.example.com", "b.example.com", "c.example.org", "d.example.com"} {
		acmeCreate(t, c, "web-app", h)
	}
	list := func(p *certificates.ListParams) *models.ListCertificatesResponse {
		t.Helper()
		res, err := c.Certificates.List(ctx, "web-app", p)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	all := list(nil)
	if len(all.Certificates) != 4 || all.TotalCount != 4 || all.NextCursor != "" || !all.Certificates[0].AcmeRequested {
		t.Errorf("list: %+v", all)
	}
	com := list(&certificates.ListParams{Filter: ".com"})
	if com.TotalCount != 3 {
		t.Errorf("filter: %d", com.TotalCount)
	}
	var hosts []string
	p := &certificates.ListParams{Limit: 3}
	for range 4 {
		page := list(p)
		for _, s := range page.Certificates {
			hosts = append(hosts, s.Hostname)
		}
		if page.NextCursor == "" {
			break
		}
		p = &certificates.ListParams{Limit: 3, Cursor: page.NextCursor}
	}
	if strings.Join(hosts, " ") != "a.example.com b.example.com c.example.org d.example.com" {
		t.Errorf("paged: %v", hosts)
	}
	_, err := c.Certificates.List(ctx, "web-app", &certificates.ListParams{Limit: -1})
	wantStatus(t, "negative limit", err, http.StatusBadRequest)
}
