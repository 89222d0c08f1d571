package flytest

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestXAESVectors checks XAES-256-GCM against the C2SP test vectors.
func TestXAESVectors(t *testing.T) {
	for _, tc := range []struct {
		key       byte
		plaintext string
		ad        string
		want      string
	}{
		{0x01, "XAES-256-GCM", "", "ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271"},
		{0x03, "XAES-256-GCM", "c2sp.org/XAES-256-GCM", "986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d"},
	} {
		key := bytes.Repeat([]byte{tc.key}, 32)
		nonce := []byte("ABCDEFGHIJKLMNOPQRSTUVWX")
		got, err := xaesSeal(key, nonce, []byte(tc.plaintext), []byte(tc.ad))
		if err != nil {
			t.Fatal(err)
		}
		if h := hex.EncodeToString(got[len(nonce):]); h != tc.want {
			t.Errorf("key %#x: got %s, want %s", tc.key, h, tc.want)
		}
		pt, err := xaesDecrypt(key, got, []byte(tc.ad))
		if err != nil || string(pt) != tc.plaintext {
			t.Errorf("key %#x: open: %q, %v", tc.key, pt, err)
		}
	}
}
