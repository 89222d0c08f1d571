package flytest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"slices"
)

// keyType is one kind of app secret key: the key material it takes and the
// operations it supports (nil operations are refused with 400). All of it is
// real cryptography from the standard library:
//
//   - hs256, hs384, hs512: HMAC-SHA-256/384/512 (sign, verify).
//   - nacl_auth: HMAC-SHA-512/256, NaCl's crypto_auth (sign, verify).
//   - nacl_sign: Ed25519 with detached 64-byte signatures; the key is the
//     32-byte seed (or the 64-byte seed and public key).
//   - es256: ECDSA P-256 over SHA-256, signatures as 64 bytes r||s (the JWS
//     form); the key is the 32-byte scalar, the public key the 65-byte
//     uncompressed point.
//   - xaes256gcm: XAES-256-GCM (C2SP); ciphertext is the 24-byte random
//     nonce followed by the sealed data.
//   - nacl_secretbox: NaCl's XSalsa20-Poly1305 is not in the standard
//     library, so the emulator seals with XAES-256-GCM instead, in the same
//     shape (32-byte key, 24-byte nonce prefix, 16-byte tag). Ciphertexts
//     round-trip through the emulator but are not NaCl secretboxes.
//   - nacl_box: the key is an X25519 private key and the public key its
//     X25519 public key. Encryption is anonymous (sealed-box style): an
//     ephemeral X25519 key agreement, HKDF-SHA-256, then XAES-256-GCM;
//     ciphertext is ephemeral public key, nonce, sealed data. Like
//     nacl_secretbox it is a stand-in for NaCl's format.
type keyType struct {
	name string
	// keyLens are the accepted key lengths; empty accepts any length from
	// minKeyLen up. genLen is the length generate makes.
	keyLens   []int
	minKeyLen int
	genLen    int
	public    func(key []byte) ([]byte, error) // nil for symmetric keys
	encrypt   func(key, plaintext, ad []byte) ([]byte, error)
	decrypt   func(key, ciphertext, ad []byte) ([]byte, error)
	sign      func(key, msg []byte) ([]byte, error)
	verify    func(key, msg, sig []byte) bool
}

var keyTypes = map[string]*keyType{}

func init() {
	for _, kt := range []*keyType{
		hmacKeyType("hs256", sha256.New, 32),
		hmacKeyType("hs384", sha512.New384, 48),
		hmacKeyType("hs512", sha512.New, 64),
		{
			name: "nacl_auth", keyLens: []int{32}, genLen: 32,
			sign:   func(key, msg []byte) ([]byte, error) { return hmacSum(sha512.New512_256, key, msg), nil },
			verify: func(key, msg, sig []byte) bool { return hmac.Equal(hmacSum(sha512.New512_256, key, msg), sig) },
		},
		{
			name: "nacl_sign", keyLens: []int{ed25519.SeedSize, ed25519.PrivateKeySize}, genLen: ed25519.SeedSize,
			public: func(key []byte) ([]byte, error) {
				priv, err := ed25519Key(key)
				if err != nil {
					return nil, err
				}
				return priv.Public().(ed25519.PublicKey), nil
			},
			sign: func(key, msg []byte) ([]byte, error) {
				priv, err := ed25519Key(key)
				if err != nil {
					return nil, err
				}
				return ed25519.Sign(priv, msg), nil
			},
			verify: func(key, msg, sig []byte) bool {
				priv, err := ed25519Key(key)
				return err == nil && ed25519.Verify(priv.Public().(ed25519.PublicKey), msg, sig)
			},
		},
		{
			name: "es256", keyLens: []int{32}, genLen: 32,
			public: func(key []byte) ([]byte, error) {
				priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), key)
				if err != nil {
					return nil, err
				}
				return priv.PublicKey.Bytes()
			},
			sign:   es256Sign,
			verify: es256Verify,
		},
		{
			name: "xaes256gcm", keyLens: []int{32}, genLen: 32,
			encrypt: xaesEncrypt, decrypt: xaesDecrypt,
		},
		{
			name: "nacl_secretbox", keyLens: []int{32}, genLen: 32,
			encrypt: xaesEncrypt, decrypt: xaesDecrypt,
		},
		{
			name: "nacl_box", keyLens: []int{32}, genLen: 32,
			public: func(key []byte) ([]byte, error) {
				priv, err := ecdh.X25519().NewPrivateKey(key)
				if err != nil {
					return nil, err
				}
				return priv.PublicKey().Bytes(), nil
			},
			encrypt: boxEncrypt, decrypt: boxDecrypt,
		},
	} {
		keyTypes[kt.name] = kt
	}
}

// keyTypeNames lists the supported types, sorted, for error messages.
func keyTypeNames() []string {
	names := make([]string, 0, len(keyTypes))
	for n := range keyTypes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// checkKey reports whether key is valid material for the type.
func (kt *keyType) checkKey(key []byte) error {
	if len(kt.keyLens) > 0 && !slices.Contains(kt.keyLens, len(key)) {
		return fmt.Errorf("a %s key is %v bytes, got %d", kt.name, kt.keyLens, len(key))
	}
	if len(key) < kt.minKeyLen {
		return fmt.Errorf("a %s key is at least %d bytes, got %d", kt.name, kt.minKeyLen, len(key))
	}
	if kt.public != nil {
		if _, err := kt.public(key); err != nil {
			return fmt.Errorf("not a valid %s key: %v", kt.name, err)
		}
	}
	return nil
}

func hmacKeyType(name string, h func() hash.Hash, size int) *keyType {
	return &keyType{
		name: name, minKeyLen: 1, genLen: size,
		sign:   func(key, msg []byte) ([]byte, error) { return hmacSum(h, key, msg), nil },
		verify: func(key, msg, sig []byte) bool { return hmac.Equal(hmacSum(h, key, msg), sig) },
	}
}

func hmacSum(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}

func ed25519Key(key []byte) (ed25519.PrivateKey, error) {
	switch len(key) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(key), nil
	case ed25519.PrivateKeySize:
		priv := ed25519.NewKeyFromSeed(key[:ed25519.SeedSize])
		if !slices.Equal(priv, key) {
			return nil, errors.New("the public half does not match the seed")
		}
		return priv, nil
	}
	return nil, fmt.Errorf("ed25519 key of %d bytes", len(key))
}

func es256Sign(key, msg []byte) ([]byte, error) {
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), key)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(msg)
	r, s, err := ecdsa.Sign(nil, priv, digest[:])
	if err != nil {
		return nil, err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig, nil
}

func es256Verify(key, msg, sig []byte) bool {
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), key)
	if err != nil || len(sig) != 64 {
		return false
	}
	digest := sha256.Sum256(msg)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(&priv.PublicKey, digest[:], r, s)
}

// xaesNonceSize is the nonce length of XAES-256-GCM.
const xaesNonceSize = 24

// xaesAEAD derives the AES-256-GCM instance XAES-256-GCM uses for a nonce
// (C2SP XAES-256-GCM: a CMAC-based counter KDF over the first 12 nonce
// bytes); the last 12 bytes are the GCM nonce.
func xaesAEAD(key, nonce []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	var k1 [aes.BlockSize]byte
	block.Encrypt(k1[:], k1[:])
	msb := k1[0] >> 7
	for i := 0; i < aes.BlockSize-1; i++ {
		k1[i] = k1[i]<<1 | k1[i+1]>>7
	}
	k1[aes.BlockSize-1] <<= 1
	if msb == 1 {
		k1[aes.BlockSize-1] ^= 0x87
	}
	var derived [32]byte
	for i, counter := range []byte{1, 2} {
		m := [aes.BlockSize]byte{0, counter, 'X', 0}
		copy(m[4:], nonce[:12])
		for j := range m {
			m[j] ^= k1[j]
		}
		block.Encrypt(derived[i*aes.BlockSize:], m[:])
	}
	inner, err := aes.NewCipher(derived[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(inner)
}

func xaesSeal(key, nonce, plaintext, ad []byte) ([]byte, error) {
	aead, err := xaesAEAD(key, nonce)
	if err != nil {
		return nil, err
	}
	return aead.Seal(slices.Clone(nonce), nonce[12:], plaintext, ad), nil
}

func xaesEncrypt(key, plaintext, ad []byte) ([]byte, error) {
	return xaesSeal(key, randomBytes(xaesNonceSize), plaintext, ad)
}

var errDecrypt = errors.New("ciphertext could not be decrypted: wrong key, associated data or corrupt data")

func xaesDecrypt(key, ciphertext, ad []byte) ([]byte, error) {
	if len(ciphertext) < xaesNonceSize+16 {
		return nil, errDecrypt
	}
	nonce := ciphertext[:xaesNonceSize]
	aead, err := xaesAEAD(key, nonce)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce[12:], ciphertext[xaesNonceSize:], ad)
	if err != nil {
		return nil, errDecrypt
	}
	return pt, nil
}

// boxKey derives the symmetric key of a nacl_box message from the shared
// X25519 secret and both public keys.
func boxKey(shared, ephemeral, recipient []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, shared, append(slices.Clone(ephemeral), recipient...), "flytest nacl_box", 32)
}

func boxEncrypt(key, plaintext, ad []byte) ([]byte, error) {
	recipient, err := ecdh.X25519().NewPrivateKey(key)
	if err != nil {
		return nil, err
	}
	eph, err := ecdh.X25519().GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	shared, err := eph.ECDH(recipient.PublicKey())
	if err != nil {
		return nil, err
	}
	ephPub := eph.PublicKey().Bytes()
	k, err := boxKey(shared, ephPub, recipient.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	sealed, err := xaesEncrypt(k, plaintext, ad)
	if err != nil {
		return nil, err
	}
	return append(ephPub, sealed...), nil
}

func boxDecrypt(key, ciphertext, ad []byte) ([]byte, error) {
	priv, err := ecdh.X25519().NewPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if len(ciphertext) < 32 {
		return nil, errDecrypt
	}
	ephPub, err := ecdh.X25519().NewPublicKey(ciphertext[:32])
	if err != nil {
		return nil, errDecrypt
	}
	shared, err := priv.ECDH(ephPub)
	if err != nil {
		return nil, errDecrypt
	}
	k, err := boxKey(shared, ciphertext[:32], priv.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	return xaesDecrypt(k, ciphertext[32:], ad)
}
