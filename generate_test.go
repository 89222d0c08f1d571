package flymachines_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestGeneratedCodeIsUpToDate is the drift check: it regenerates client/ and
// models/ from swagger.json with the pinned generator into a temporary tree
// and fails on any changed, missing or extra file, naming each. Fix a
// failure with `make generate`, never by editing the generated files.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("drift check regenerates the client; skipped with -short")
	}
	requireGo(t)
	tmp := t.TempDir()
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), gomod, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	cmd := exec.Command("bash", "gen/generate.sh", tmp)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generation failed: %v\n%s", err, out)
	}
	t.Logf("generation took %s", time.Since(start).Round(time.Millisecond))

	var problems []string
	for _, dir := range []string{"client", "models"} {
		committed, generated := readTree(t, dir), readTree(t, filepath.Join(tmp, dir))
		for name, want := range generated {
			got, ok := committed[name]
			switch {
			case !ok:
				problems = append(problems, "missing: "+filepath.Join(dir, name))
			case !bytes.Equal(got, want):
				problems = append(problems, "changed: "+filepath.Join(dir, name))
			}
		}
		for name := range committed {
			if _, ok := generated[name]; !ok {
				problems = append(problems, "extra:   "+filepath.Join(dir, name))
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("generated code differs from swagger.json + gen/ (run `make generate`):\n  %s", strings.Join(problems, "\n  "))
	}
}

func readTree(t *testing.T, root string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		files[rel] = data
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return files
}

func requireGo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
}
