package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	fly "github.com/superfly/fly-go"
)

// TestAppSecrets follows flyctl's secrets set, list, unset and deploy's
// read of the secrets version.
func TestAppSecrets(t *testing.T) {
	e := newEnv(t)
	app := e.createApp("conf-secrets")
	var version uint64
	e.check("SetAppSecret", "sets a secret and answers the new secrets version", func(ctx context.Context) error {
		res, err := e.f.SetAppSecret(ctx, app, "DATABASE_URL", "postgres://db")
		if err != nil {
			return err
		}
		if res.Name != "DATABASE_URL" || res.Version == 0 {
			return fmt.Errorf("answer %+v", res)
		}
		version = res.Version
		return nil
	})
	e.check("ListAppSecrets", "lists names and digests, no values", func(ctx context.Context) error {
		list, err := e.f.ListAppSecrets(ctx, app, nil, false)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].Name != "DATABASE_URL" || list[0].Value != nil || list[0].Digest == "" {
			return fmt.Errorf("secrets %+v", list)
		}
		return nil
	})
	e.check("ListAppSecrets", "with the version a write answered and show_secrets: the values", func(ctx context.Context) error {
		list, err := e.f.ListAppSecrets(ctx, app, &version, true)
		if err != nil {
			return err
		}
		if len(list) != 1 || list[0].Value == nil || *list[0].Value != "postgres://db" {
			return fmt.Errorf("secrets %+v", list)
		}
		return nil
	})
	e.check("ListAppSecrets", "a version the app has not reached yet is refused, not ignored", func(ctx context.Context) error {
		ahead := version + 5
		_, err := e.f.ListAppSecrets(ctx, app, &ahead, false)
		if err == nil {
			return errors.New("a version ahead of the app's was accepted")
		}
		return nil
	})
	e.check("GetAppSecrets", "gets one secret with its value, at a version", func(ctx context.Context) error {
		s, err := e.f.GetAppSecrets(ctx, app, "DATABASE_URL", &version, true)
		if err != nil {
			return err
		}
		if s.Value == nil || *s.Value != "postgres://db" {
			return fmt.Errorf("secret %+v", s)
		}
		return nil
	})
	one := "1"
	e.check("UpdateAppSecrets", "sets one and removes another (null) in one version", func(ctx context.Context) error {
		res, err := e.f.UpdateAppSecrets(ctx, app, map[string]*string{"FEATURE": &one, "DATABASE_URL": nil})
		if err != nil {
			return err
		}
		if res.Version <= version || len(res.Secrets) != 1 || res.Secrets[0].Name != "FEATURE" {
			return fmt.Errorf("answer %+v (was version %d)", res, version)
		}
		version = res.Version
		return nil
	})
	e.check("DeleteAppSecret", "unsets a secret and answers the new version", func(ctx context.Context) error {
		res, err := e.f.DeleteAppSecret(ctx, app, "FEATURE")
		if err != nil {
			return err
		}
		if res.Version <= version {
			return fmt.Errorf("version %d, was %d", res.Version, version)
		}
		return nil
	})
	e.check("GetAppSecrets", "an unset secret is not found", func(ctx context.Context) error {
		_, err := e.f.GetAppSecrets(ctx, app, "FEATURE", nil, false)
		return wantStatus(err, http.StatusNotFound)
	})
}

// TestSecretKeys follows flyctl's secrets keys commands, whose labels read
// like "name-v1".
func TestSecretKeys(t *testing.T) {
	e := newEnv(t)
	app := e.createApp("conf-secretkeys")
	hmacKey := bytes.Repeat([]byte{7}, 32)
	e.check("SetSecretKey", "stores a key under a name-v1 label", func(ctx context.Context) error {
		res, err := e.f.SetSecretKey(ctx, app, "jwt-v1", fly.SECRETKEY_TYPE_HS256, hmacKey)
		if err != nil {
			return err
		}
		if res.Name != "jwt-v1" || res.Type != fly.SECRETKEY_TYPE_HS256 || res.Version == 0 {
			return fmt.Errorf("answer %+v", res)
		}
		return nil
	})
	e.check("GenerateSecretKey", "generates a key pair and answers its public key", func(ctx context.Context) error {
		res, err := e.f.GenerateSecretKey(ctx, app, "box-v1", fly.SECRETKEY_TYPE_NACL_BOX)
		if err != nil {
			return err
		}
		if res.Name != "box-v1" || len(res.Publickey) == 0 {
			return fmt.Errorf("answer %+v", res)
		}
		return nil
	})
	e.check("GenerateSecretKey", "generates a symmetric key", func(ctx context.Context) error {
		_, err := e.f.GenerateSecretKey(ctx, app, "vault-v1", fly.SECRETKEY_TYPE_XAES256GCM)
		return err
	})
	e.check("ListSecretKeys", "lists the keys, without key material", func(ctx context.Context) error {
		keys, err := e.f.ListSecretKeys(ctx, app, nil)
		if err != nil {
			return err
		}
		if len(keys) != 3 {
			return fmt.Errorf("keys %+v", keys)
		}
		return nil
	})
	e.check("GetSecretKey", "shows one key", func(ctx context.Context) error {
		k, err := e.f.GetSecretKey(ctx, app, "jwt-v1", nil)
		if err != nil {
			return err
		}
		if k.Name != "jwt-v1" || k.Type != fly.SECRETKEY_TYPE_HS256 {
			return fmt.Errorf("key %+v", k)
		}
		return nil
	})
	var ciphertext []byte
	e.check("EncryptSecretKey", "encrypts with associated data", func(ctx context.Context) error {
		res, err := e.f.EncryptSecretKey(ctx, app, "vault-v1", []byte("secret"), []byte("ctx"), nil)
		if err != nil {
			return err
		}
		ciphertext = res.Ciphertext
		if len(ciphertext) == 0 {
			return errors.New("no ciphertext")
		}
		return nil
	})
	e.check("DecryptSecretKey", "decrypts what it encrypted", func(ctx context.Context) error {
		res, err := e.f.DecryptSecretKey(ctx, app, "vault-v1", ciphertext, []byte("ctx"), nil)
		if err != nil {
			return err
		}
		if string(res.Plaintext) != "secret" {
			return fmt.Errorf("plaintext %q", res.Plaintext)
		}
		return nil
	})
	var sig []byte
	e.check("SignSecretKey", "signs a message", func(ctx context.Context) error {
		res, err := e.f.SignSecretKey(ctx, app, "jwt-v1", []byte("msg"), nil)
		if err != nil {
			return err
		}
		sig = res.Signature
		if len(sig) == 0 {
			return errors.New("no signature")
		}
		return nil
	})
	e.check("VerifySecretKey", "verifies its signature", func(ctx context.Context) error {
		return e.f.VerifySecretKey(ctx, app, "jwt-v1", []byte("msg"), sig, nil)
	})
	e.check("VerifySecretKey", "refuses a signature of another message", func(ctx context.Context) error {
		if err := e.f.VerifySecretKey(ctx, app, "jwt-v1", []byte("other"), sig, nil); err == nil {
			return errors.New("a wrong signature verified")
		}
		return nil
	})

	// flaps builds the version query on a nil url.Values: every secret-key
	// call given a version panics before it sends anything.
	v := uint64(1)
	const nilMap = "given a version, it sets it on a nil url.Values and panics (assignment to entry in nil map) before sending"
	e.flapsBug("ListSecretKeys", nilMap, func(ctx context.Context) { _, _ = e.f.ListSecretKeys(ctx, app, &v) })
	e.flapsBug("GetSecretKey", nilMap, func(ctx context.Context) { _, _ = e.f.GetSecretKey(ctx, app, "jwt-v1", &v) })
	e.flapsBug("EncryptSecretKey", nilMap, func(ctx context.Context) {
		_, _ = e.f.EncryptSecretKey(ctx, app, "vault-v1", []byte("x"), nil, &v)
	})
	e.flapsBug("DecryptSecretKey", nilMap, func(ctx context.Context) {
		_, _ = e.f.DecryptSecretKey(ctx, app, "vault-v1", ciphertext, nil, &v)
	})
	e.flapsBug("SignSecretKey", nilMap, func(ctx context.Context) { _, _ = e.f.SignSecretKey(ctx, app, "jwt-v1", []byte("x"), &v) })
	e.flapsBug("VerifySecretKey", nilMap, func(ctx context.Context) {
		_ = e.f.VerifySecretKey(ctx, app, "jwt-v1", []byte("x"), sig, &v)
	})

	e.check("DeleteSecretKey", "deletes a key", func(ctx context.Context) error {
		return e.f.DeleteSecretKey(ctx, app, "box-v1")
	})
	e.check("GetSecretKey", "a deleted key is not found", func(ctx context.Context) error {
		_, err := e.f.GetSecretKey(ctx, app, "box-v1", nil)
		return wantStatus(err, http.StatusNotFound)
	})
}
