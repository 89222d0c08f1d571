package flytest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"
)

// newMachineID returns a 14-hex-character id, the form the API uses.
func newMachineID() string { return randomHex(7) }

// newRequestID returns a value for the fly-request-id header.
func newRequestID() string { return randomHex(8) + "-" + "emu" }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newULID returns a 26-character ULID (48-bit millisecond time, 80 random
// bits, Crockford base32), the form of Machine versions and instance ids.
func newULID(t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	n := new(big.Int).SetBytes(b[:])
	out := make([]byte, 26)
	base := big.NewInt(32)
	mod := new(big.Int)
	for i := 25; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = crockford[mod.Int64()]
	}
	return string(out)
}

var adjectives = []string{"quiet", "rapid", "autumn", "bold", "calm", "crimson", "damp", "falling", "green", "icy", "lively", "misty", "proud", "small", "snowy", "wild"}
var nouns = []string{"bird", "brook", "cloud", "dew", "field", "fire", "forest", "hill", "lake", "leaf", "moon", "pine", "river", "sea", "star", "wave"}

// newName returns a generated Machine name such as "misty-river-4821".
func newName() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%s-%d", adjectives[int(b[0])%len(adjectives)], nouns[int(b[1])%len(nouns)], 1000+int(b[2])*35)
}

// newPrivateIP returns an address in the Fly private network (fdaa::/16).
func newPrivateIP() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return fmt.Sprintf("fdaa:0:%x:a7b:%x:%x:%x:2", 0x3ec2, uint16(b[0])<<8|uint16(b[1]), uint16(b[2])<<8|uint16(b[3]), uint16(b[4])<<8|uint16(b[5]))
}
