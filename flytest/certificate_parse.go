package flytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// customCert is what the emulator keeps of an uploaded certificate.
type customCert struct {
	issuer    string
	keyType   string // rsa or ecdsa, the IssuedCertificate types
	notAfter  time.Time
	createdAt time.Time
}

// parseCustomCert checks an uploaded chain and key the way the API must
// before serving them: the chain parses, its leaf covers hostname and is
// valid now, and the key is the leaf's, RSA or ECDSA.
func parseCustomCert(hostname, fullchain, privateKey string, now time.Time) (*customCert, error) {
	var chain []*x509.Certificate
	rest := []byte(fullchain)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("fullchain holds a %q PEM block; want only CERTIFICATE blocks", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("fullchain certificate %d: %v", len(chain)+1, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, errors.New("fullchain holds no PEM-encoded certificate")
	}
	leaf := chain[0]
	if strings.HasPrefix(hostname, "*.") {
		if !slices.Contains(leaf.DNSNames, hostname) {
			return nil, fmt.Errorf("the certificate does not name %s (it names %s)", hostname, strings.Join(leaf.DNSNames, ", "))
		}
	} else if err := leaf.VerifyHostname(hostname); err != nil {
		return nil, fmt.Errorf("the certificate does not cover %s: %v", hostname, err)
	}
	if now.Before(leaf.NotBefore) {
		return nil, fmt.Errorf("the certificate is not valid before %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(leaf.NotAfter) {
		return nil, fmt.Errorf("the certificate expired at %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	key, err := parsePrivateKey(privateKey)
	if err != nil {
		return nil, err
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(key.Public()) {
		return nil, errors.New("private_key is not the key of the certificate")
	}
	cc := &customCert{notAfter: leaf.NotAfter, createdAt: now, issuer: leaf.Issuer.CommonName}
	switch leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		cc.keyType = "rsa"
	case *ecdsa.PublicKey:
		cc.keyType = "ecdsa"
	default:
		return nil, fmt.Errorf("only RSA and ECDSA certificates are served, not %s", leaf.PublicKeyAlgorithm)
	}
	if cc.issuer == "" {
		cc.issuer = leaf.Issuer.String()
	}
	return cc, nil
}

// parsePrivateKey reads a PEM private key in PKCS #8, PKCS #1 or SEC 1 form.
func parsePrivateKey(s string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("private_key holds no PEM block")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if signer, ok := k.(crypto.Signer); ok {
			return signer, nil
		}
		return nil, errors.New("private_key is not a signing key")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("private_key: a %q PEM block that is not a PKCS #8, PKCS #1 or EC private key", block.Type)
}
