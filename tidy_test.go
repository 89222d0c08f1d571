package flymachines_test

import (
	"os/exec"
	"testing"
)

// TestModulesAreTidy: go.mod and go.sum of the library, the generator
// module and the conformance module are exactly what `go mod tidy` makes
// them, so nothing the tests or generation add goes unnoticed.
func TestModulesAreTidy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy; skipped with -short")
	}
	requireGo(t)
	for _, dir := range []string{".", "gen", "conformance"} {
		t.Run(dir, func(t *testing.T) {
			cmd := exec.Command("go", "mod", "tidy", "-diff")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: go.mod/go.sum are not tidy (run `go mod tidy` there):\n%s", dir, out)
			}
		})
	}
}
