package flytest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net/http"
	"testing"

	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/client/secretkeys"
	"github.com/flymachines/flymachines-go/models"
)

func generateKey(t *testing.T, c *client.API, appName, name, typ string) *models.SetSecretkeyResponse {
	t.Helper()
	ok, err := c.SecretKeys.Generate(context.Background(), appName, name, &models.SetSecretkeyRequest{Type: typ})
	if err != nil {
		t.Fatalf("generate %s key: %v", typ, err)
	}
	return ok
}

// TestSecretkeyEncryptDecrypt round-trips every encrypting type, with and
// without associated data, and checks that tampering is caught.
func TestSecretkeyEncryptDecrypt(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "kms-app")
	for _, typ := range []string{"xaes256gcm", "nacl_secretbox", "nacl_box"} {
		t.Run(typ, func(t *testing.T) {
			k := generateKey(t, c, "kms-app", "K_"+typ, typ)
			if (typ == "nacl_box") != (len(k.PublicKey) == 32) {
				t.Errorf("public key of %d bytes", len(k.PublicKey))
			}
			for _, ad := range [][]byte{nil, []byte("context")} {
				enc, err := c.SecretKeys.Encrypt(ctx, "kms-app", "K_"+typ, &models.EncryptSecretkeyRequest{Plaintext: strfmt.Base64("attack at dawn"), AssociatedData: ad}, nil)
				if err != nil {
					t.Fatal(err)
				}
				ct := enc.Ciphertext
				if bytes.Contains(ct, []byte("attack at dawn")) {
					t.Fatal("ciphertext holds the plaintext")
				}
				dec, err := c.SecretKeys.Decrypt(ctx, "kms-app", "K_"+typ, &models.DecryptSecretkeyRequest{Ciphertext: ct, AssociatedData: ad}, nil)
				if err != nil || string(dec.Plaintext) != "attack at dawn" {
					t.Fatalf("decrypt: %v, %v", dec, err)
				}
				_, err = c.SecretKeys.Decrypt(ctx, "kms-app", "K_"+typ, &models.DecryptSecretkeyRequest{Ciphertext: ct, AssociatedData: []byte("other")}, nil)
				wantStatus(t, "decrypt with other associated data", err, http.StatusBadRequest)
				tampered := bytes.Clone(ct)
				tampered[len(tampered)-1] ^= 1
				_, err = c.SecretKeys.Decrypt(ctx, "kms-app", "K_"+typ, &models.DecryptSecretkeyRequest{Ciphertext: tampered, AssociatedData: ad}, nil)
				wantStatus(t, "decrypt tampered", err, http.StatusBadRequest)
			}
			_, err := c.SecretKeys.Sign(ctx, "kms-app", "K_"+typ, &models.SignSecretkeyRequest{Plaintext: strfmt.Base64("x")}, nil)
			wantStatus(t, "sign with an encryption key", err, http.StatusBadRequest)
		})
	}
}

// TestSecretkeySignVerify: every signing type signs, verifies (204) and
// refuses a bad signature (400).
func TestSecretkeySignVerify(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "kms-app")
	for _, tc := range []struct {
		typ    string
		sigLen int
	}{
		{"hs256", 32}, {"hs384", 48}, {"hs512", 64}, {"nacl_auth", 32}, {"nacl_sign", 64}, {"es256", 64},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			name := "S_" + tc.typ
			k := generateKey(t, c, "kms-app", name, tc.typ)
			msg := strfmt.Base64("release-manifest-v1")
			sig, err := c.SecretKeys.Sign(ctx, "kms-app", name, &models.SignSecretkeyRequest{Plaintext: msg}, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := sig.Signature
			if len(s) != tc.sigLen {
				t.Errorf("signature of %d bytes, want %d", len(s), tc.sigLen)
			}
			if tc.typ == "nacl_sign" && !ed25519.Verify(ed25519.PublicKey(k.PublicKey), msg, s) {
				t.Error("the Ed25519 signature does not verify with the public key from generate")
			}
			verify := func(m, s []byte) error {
				return c.SecretKeys.Verify(ctx, "kms-app", name, &models.VerifySecretkeyRequest{Plaintext: m, Signature: s}, nil)
			}
			if err := verify(msg, s); err != nil {
				t.Errorf("verify a good signature: %v", err)
			}
			bad := bytes.Clone(s)
			bad[0] ^= 0x80
			if err := verify(msg, bad); codeOf(err) != http.StatusBadRequest || errorText(err) == "" {
				t.Errorf("verify a bad signature: got %v, want 400 with an error", err)
			}
			wantStatus(t, "verify another message", verify([]byte("other"), s), http.StatusBadRequest)
			_, err = c.SecretKeys.Encrypt(ctx, "kms-app", name, &models.EncryptSecretkeyRequest{Plaintext: msg}, nil)
			wantStatus(t, "encrypt with a signing key", err, http.StatusBadRequest)
		})
	}
}

func TestSecretkeysManage(t *testing.T) {
	_, c := newResourceClient(t)
	ctx := context.Background()
	mustCreateApp(t, c, "kms-app")

	// set from a value: an Ed25519 seed gives the matching public key.
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	set, err := c.SecretKeys.Set(ctx, "kms-app", "SIGNER", &models.SetSecretkeyRequest{Type: "nacl_sign", Value: seed})
	if err != nil {
		t.Fatal(err)
	}
	wantPub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if !bytes.Equal(set.PublicKey, wantPub) || set.Version != 1 || set.Type != "nacl_sign" {
		t.Errorf("set: %+v", set)
	}
	hmacKey := generateKey(t, c, "kms-app", "HMAC", "hs256")
	if len(hmacKey.PublicKey) != 0 || hmacKey.Version != 2 {
		t.Errorf("generate hs256: %+v", hmacKey)
	}

	got, err := c.SecretKeys.Get(ctx, "kms-app", "SIGNER", &secretkeys.GetParams{MinVersion: "2"})
	if err != nil || !bytes.Equal(got.PublicKey, wantPub) || got.CreatedAt == "" {
		t.Fatalf("get: %v, %v", got, err)
	}

	list, err := c.SecretKeys.List(ctx, "kms-app", nil)
	if err != nil || len(list.SecretKeys) != 2 || list.SecretKeys[0].Name != "HMAC" {
		t.Fatalf("list: %v, %v", list, err)
	}
	only, err := c.SecretKeys.List(ctx, "kms-app", &secretkeys.ListParams{Types: "nacl_sign,es256"})
	if err != nil || len(only.SecretKeys) != 1 || only.SecretKeys[0].Name != "SIGNER" {
		t.Errorf("list by type: %v, %v", only, err)
	}
	_, err = c.SecretKeys.List(ctx, "kms-app", &secretkeys.ListParams{MinVersion: "3"})
	wantStatus(t, "list at a future version", err, http.StatusBadRequest)

	del, err := c.SecretKeys.Delete(ctx, "kms-app", "HMAC")
	if err != nil || del.Version != 3 {
		t.Fatalf("delete: %v, %v", del, err)
	}
	_, err = c.SecretKeys.Get(ctx, "kms-app", "HMAC", nil)
	wantStatus(t, "get a deleted key", err, http.StatusNotFound)
	_, err = c.SecretKeys.Delete(ctx, "kms-app", "HMAC")
	wantStatus(t, "delete a deleted key", err, http.StatusNotFound)
	_, err = c.SecretKeys.Sign(ctx, "kms-app", "HMAC", &models.SignSecretkeyRequest{Plaintext: strfmt.Base64("x")}, nil)
	wantStatus(t, "sign with a deleted key", err, http.StatusNotFound)
}

func TestSecretkeysInvalid(t *testing.T) {
	_, c := newResourceClient(t)
	mustCreateApp(t, c, "kms-app")
	for _, tc := range []struct {
		name     string
		generate bool
		req      models.SetSecretkeyRequest
	}{
		{"unknown type", true, models.SetSecretkeyRequest{Type: "rot13"}},
		{"no type", true, models.SetSecretkeyRequest{}},
		{"generate with a value", true, models.SetSecretkeyRequest{Type: "hs256", Value: []byte("k")}},
		{"set without a value", false, models.SetSecretkeyRequest{Type: "hs256"}},
		{"short xaes key", false, models.SetSecretkeyRequest{Type: "xaes256gcm", Value: make([]byte, 16)}},
		{"zero es256 scalar", false, models.SetSecretkeyRequest{Type: "es256", Value: make([]byte, 32)}},
		{"mismatched ed25519 key", false, models.SetSecretkeyRequest{Type: "nacl_sign", Value: make([]byte, 64)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.generate {
				_, err = c.SecretKeys.Generate(context.Background(), "kms-app", "K", &tc.req)
			} else {
				_, err = c.SecretKeys.Set(context.Background(), "kms-app", "K", &tc.req)
			}
			wantStatus(t, tc.name, err, http.StatusBadRequest)
		})
	}
	_, err := c.SecretKeys.Generate(context.Background(), "kms-app", "bad.name", &models.SetSecretkeyRequest{Type: "hs256"})
	wantStatus(t, "bad key name", err, http.StatusBadRequest)
	// flyctl labels keys "name-v1": a dash is fine in a key's name.
	if _, err := c.SecretKeys.Generate(context.Background(), "kms-app", "jwt-v1", &models.SetSecretkeyRequest{Type: "hs256"}); err != nil {
		t.Errorf("a name-v1 label: %v", err)
	}
}
