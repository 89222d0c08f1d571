package flymachines_test

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConsumersDoNotPullTheGenerator builds a throwaway module that imports
// the facade, client (its facts table too), call, models and flytest,
// tidies and vendors it, and fails
// if any module only the generator needs (go-swagger and its dependencies
// that the library does not share) lands in its go.mod or vendor/.
func TestConsumersDoNotPullTheGenerator(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds a consumer module; skipped with -short")
	}
	requireGo(t)
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	generatorOnly := difference(listModules(t, filepath.Join(repo, "gen")), listModules(t, repo))
	if !generatorOnly["github.com/go-swagger/go-swagger"] {
		t.Fatalf("go-swagger is not in gen/'s module graph: the generator pin moved?")
	}

	dir := t.TempDir()
	write(t, filepath.Join(dir, "go.mod"), "module example.com/consumer\n\ngo 1.26\n\n"+
		"require github.com/flymachines/flymachines-go v0.0.0\n\n"+
		"replace github.com/flymachines/flymachines-go => "+repo+"\n")
	write(t, filepath.Join(dir, "main.go"), `package main

import (
	"fmt"

	_ "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/client/ops"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/models"
)

func main() {
	fmt.Println(client.New(nil) != nil, ops.MachinesShow, call.ErrEmptyAnswer, models.MainStatusCodeNameTaken, flytest.New())
}
`)
	run(t, dir, "go", "mod", "tidy")
	run(t, dir, "go", "mod", "vendor")
	run(t, dir, "go", "build", "./...")

	gomod, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	vendored, _ := os.ReadFile(filepath.Join(dir, "vendor", "modules.txt"))
	modules := 0
	for line := range strings.Lines(string(vendored)) {
		if strings.HasPrefix(line, "# ") {
			modules++
			mod := strings.Fields(line)[1]
			if generatorOnly[mod] {
				t.Errorf("consumer vendors generator-only module %s", mod)
			}
		}
	}
	for mod := range generatorOnly {
		if bytes.Contains(gomod, []byte(mod+" ")) {
			t.Errorf("consumer go.mod requires generator-only module %s", mod)
		}
	}
	t.Logf("consumer vendors %d modules, %d KiB", modules, treeSize(t, filepath.Join(dir, "vendor"))/1024)
}

// listModules lists the modules in the build graph of the module at dir.
// It lists from a copy of go.mod and go.sum: listing the whole graph adds
// the go.mod sums of every module in it to go.sum, which would leave the
// repository's go.sum untidy after every test run.
func listModules(t *testing.T, dir string) map[string]bool {
	t.Helper()
	tmp := t.TempDir()
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(tmp, name), string(data))
	}
	out := run(t, tmp, "go", "list", "-mod=mod", "-m", "all")
	mods := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 {
			mods[f[0]] = true
		}
	}
	return mods
}

func difference(a, b map[string]bool) map[string]bool {
	out := map[string]bool{}
	for m := range a {
		if !b[m] {
			out[m] = true
		}
	}
	return out
}

func run(t *testing.T, dir string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, stderr)
	}
	return out
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func treeSize(t *testing.T, root string) int64 {
	t.Helper()
	var n int64
	_ = filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return err
	})
	return n
}
