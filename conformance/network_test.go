package conformance

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	fly "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"
)

// TestCertificates follows flyctl's certs add, show, check, import and
// remove.
func TestCertificates(t *testing.T) {
	e := newEnv(t)
	app := e.createApp("conf-certs")
	const host = "www.example.com"
	e.check("CreateACMECertificate", "adds the hostname and asks for ACME issuance", func(ctx context.Context) error {
		c, err := e.f.CreateACMECertificate(ctx, app, fly.CreateCertificateRequest{Hostname: host})
		if err != nil {
			return err
		}
		if c.Hostname != host || !c.AcmeRequested || c.DNSRequirements.CNAME == "" {
			return fmt.Errorf("certificate %+v", c)
		}
		obj, err := e.wireObject()
		if err != nil {
			return err
		}
		return sent(obj, map[string]string{"configured": "false", "rate_limited_until": "null"})
	})
	e.check("CheckCertificate", "checks DNS and issues", func(ctx context.Context) error {
		c, err := e.f.CheckCertificate(ctx, app, host)
		if err != nil {
			return err
		}
		if c.Hostname != host || c.Status == "" {
			return fmt.Errorf("certificate %+v", c)
		}
		return nil
	})
	fullchain, key := selfSigned(t, host)
	e.check("CreateCustomCertificate", "imports a certificate for the hostname", func(ctx context.Context) error {
		c, err := e.f.CreateCustomCertificate(ctx, app, fly.ImportCertificateRequest{Hostname: host, Fullchain: fullchain, PrivateKey: key})
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(c.Certificates, func(d fly.CertificateDetail) bool { return d.Source == "custom" }) {
			return fmt.Errorf("no custom certificate in %+v", c.Certificates)
		}
		return nil
	})
	e.check("GetCertificate", "shows both certificates", func(ctx context.Context) error {
		c, err := e.f.GetCertificate(ctx, app, host)
		if err != nil {
			return err
		}
		if len(c.Certificates) != 2 {
			return fmt.Errorf("%d certificates", len(c.Certificates))
		}
		return nil
	})
	e.check("ListCertificates", "lists the hostname", func(ctx context.Context) error {
		list, err := e.f.ListCertificates(ctx, app, nil)
		if err != nil {
			return err
		}
		if len(list.Certificates) != 1 || list.Certificates[0].Hostname != host || !list.Certificates[0].HasCustomCertificate {
			return fmt.Errorf("list %+v", list)
		}
		return nil
	})
	e.check("ListCertificates", "pages with limit and filters", func(ctx context.Context) error {
		list, err := e.f.ListCertificates(ctx, app, &flaps.ListCertificatesOpts{Limit: 1, Filter: "www"})
		if err != nil {
			return err
		}
		if len(list.Certificates) != 1 {
			return fmt.Errorf("list %+v", list)
		}
		return nil
	})
	e.check("DeleteCustomCertificate", "removes the imported certificate, keeping ACME", func(ctx context.Context) error {
		return e.f.DeleteCustomCertificate(ctx, app, host)
	})
	e.check("DeleteACMECertificate", "stops ACME for the hostname", func(ctx context.Context) error {
		return e.f.DeleteACMECertificate(ctx, app, host)
	})
	e.check("DeleteCertificate", "removes the hostname", func(ctx context.Context) error {
		return e.f.DeleteCertificate(ctx, app, host)
	})
	e.check("GetCertificate", "a removed hostname is not found", func(ctx context.Context) error {
		_, err := e.f.GetCertificate(ctx, app, host)
		return wantStatus(err, http.StatusNotFound)
	})
}

// selfSigned is a certificate and key for host, PEM-encoded.
func selfSigned(t *testing.T, host string) (fullchain, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

// TestIPAssignments follows flyctl's ips allocate, list and release.
func TestIPAssignments(t *testing.T) {
	e := newEnv(t)
	app := e.createApp("conf-ips")
	var v6, flycast string
	e.check("AssignIP", "a shared IPv4", func(ctx context.Context) error {
		ip, err := e.f.AssignIP(ctx, app, flaps.AssignIPRequest{Type: "shared_v4"})
		if err != nil {
			return err
		}
		if !ip.Shared || ip.IP == "" {
			return fmt.Errorf("assignment %+v", ip)
		}
		return nil
	})
	e.check("AssignIP", "a dedicated IPv6", func(ctx context.Context) error {
		ip, err := e.f.AssignIP(ctx, app, flaps.AssignIPRequest{Type: "v6"})
		if err != nil {
			return err
		}
		v6 = ip.IP
		if !strings.Contains(v6, ":") {
			return fmt.Errorf("assignment %+v", ip)
		}
		return nil
	})
	e.check("AssignIP", "a Flycast address on the org's network", func(ctx context.Context) error {
		ip, err := e.f.AssignIP(ctx, app, flaps.AssignIPRequest{Type: "private_v6", Organization: org})
		if err != nil {
			return err
		}
		flycast = ip.IP
		if !ip.IsFlycast() {
			return fmt.Errorf("%s is not a Flycast address", ip.IP)
		}
		return nil
	})
	e.check("GetIPAssignments", "lists the three", func(ctx context.Context) error {
		res, err := e.f.GetIPAssignments(ctx, app)
		if err != nil {
			return err
		}
		if len(res.IPs) != 3 {
			return fmt.Errorf("listed %+v", res.IPs)
		}
		return nil
	})
	e.check("DeleteIPAssignment", "releases the IPv6", func(ctx context.Context) error {
		return e.f.DeleteIPAssignment(ctx, app, v6)
	})
	e.check("DeleteIPAssignment", "releases the Flycast address", func(ctx context.Context) error {
		return e.f.DeleteIPAssignment(ctx, app, flycast)
	})
	e.check("DeleteIPAssignment", "an address the app does not have is a 404", func(ctx context.Context) error {
		return wantStatus(e.f.DeleteIPAssignment(ctx, app, v6), http.StatusNotFound)
	})
}

// TestPlatform follows flyctl's platform regions and the placement query
// of volume and Machine creation.
func TestPlatform(t *testing.T) {
	e := newEnv(t)
	e.check("GetRegions", "lists the regions and the nearest", func(ctx context.Context) error {
		res, err := e.f.GetRegions(ctx)
		if err != nil {
			return err
		}
		if len(res.Regions) == 0 || res.Nearest == "" {
			return fmt.Errorf("regions %+v", res)
		}
		if !slices.ContainsFunc(res.Regions, func(r fly.Region) bool { return r.Code == "ord" && r.Name != "" }) {
			return errors.New("ord is not listed with its name")
		}
		return nil
	})
	e.check("GetPlacements", "places two Machines in the region asked for", func(ctx context.Context) error {
		got, err := e.f.GetPlacements(ctx, &flaps.GetPlacementsRequest{
			ComputeRequirements: &fly.MachineGuest{CPUKind: "shared", CPUs: 1, MemoryMB: 256},
			Region:              "ord", Count: 2, Org: org,
		})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Region != "ord" || got[0].Count != 2 {
			return fmt.Errorf("placements %+v", got)
		}
		return nil
	})
}
