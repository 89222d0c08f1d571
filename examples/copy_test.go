// Package examples_test checks that each example is a program a user can
// copy: its main.go, alone in a module of the user's, builds.
package examples_test

import (
	"bytes"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const modulePath = "github.com/flymachines/flymachines-go"

// TestEachExampleBuildsInAModuleOfItsOwn copies every examples/*/main.go
// into a fresh module that requires this one (replaced by the checkout, as
// a published version would be fetched) and builds them there, offline:
// an example that imports an internal package of this module, or that
// needs a file beside it, fails here. All are built by one go build, each
// its own main package.
func TestEachExampleBuildsInAModuleOfItsOwn(t *testing.T) {
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mains, err := filepath.Glob("*/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(mains) < 4 {
		t.Fatalf("found %d examples (%q), want the four seed flows at least", len(mains), mains)
	}

	readModule(t, repo)

	mod := t.TempDir()
	for _, path := range mains {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		checkImports(t, path, src)
		dir := filepath.Join(mod, filepath.Dir(path))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goMod := "module example.com/copied\n\ngo 1.26\n\n" +
		"require " + modulePath + " v0.0.0\n\n" +
		"replace " + modulePath + " => " + strconv.Quote(repo) + "\n"
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(goMod), 0o644); err != nil {
		t.Fatal(err)
	}
	// The checkout's go.sum has every dependency's hash: with it, the
	// build needs the module cache only.
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}

	// -s -w: no symbol tables, which halves the links' time.
	cmd := exec.Command(goTool(t), "build", "-ldflags=-s -w", "./...")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(),
		"GOFLAGS=-mod=mod", // add what the copies need to their go.mod, as a user's go mod tidy would
		"GOWORK=off",
		"GOPROXY=off", // offline: the module cache or nothing
		"GOTOOLCHAIN=local",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("the examples do not build in a module of their own (%v):\n%s", err, out.String())
	}
}

// readModule reads every Go source file of the module at repo (but its
// tests, and the modules nested in it) and its go.mod and go.sum. The
// build reads them in another process, out of go test's sight: read here
// too, they are inputs of this test, and go test reuses a cached result
// only while none of them changed.
func readModule(t *testing.T, repo string) {
	t.Helper()
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == repo {
				return nil
			}
			if strings.HasPrefix(name, ".") || name == "testdata" {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if name == "go.mod" || name == "go.sum" || strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			_, err = os.ReadFile(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkImports fails the test if the example imports an internal package,
// which no other module may import, naming the import.
func checkImports(t *testing.T, path string, src []byte) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		if slices.Contains(strings.Split(p, "/"), "internal") {
			t.Errorf("%s imports %s: a copy of it in another module cannot", path, p)
		}
	}
}

// goTool is the go command of the toolchain that runs this test, else the
// one on PATH.
func goTool(t *testing.T) string {
	t.Helper()
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command: %v", err)
	}
	return p
}
