package flymachines_test

import (
	"encoding/json"
	"testing"

	"github.com/flymachines/flymachines-go/models"
)

// BenchmarkMachineJSON: the models alone, no network: decode the Machine
// of BenchmarkGetMachine, and encode it back (what a read-modify-write
// update pays for its config). BENCHMARKS.md has the figures.
func BenchmarkMachineJSON(b *testing.B) {
	body := []byte(benchMachineJSON)
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var m models.Machine
			if err := json.Unmarshal(body, &m); err != nil || m.Config == nil {
				b.Fatal(err)
			}
		}
	})
	var m models.Machine
	if err := json.Unmarshal(body, &m); err != nil {
		b.Fatal(err)
	}
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
