package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/sandbox/sandboxtest"
)

func TestFaaS(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-region", "ams", "-region2", "nrt"}, sandboxtest.Fast()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	text := out.String()
	launched := regexp.MustCompile(`launched machine (\w+) \(fn-(\w+)\) in (\w+)`).FindAllStringSubmatch(text, -1)
	if len(launched) != 2 || launched[0][3] != "ams" || launched[1][3] != "nrt" {
		t.Fatalf("want machines in ams and nrt, got %q:\n%s", launched, text)
	}
	second := launched[1][1]
	for _, want := range []string{
		"created app faas-",
		"stopped machine " + second,
		"start: machine " + second + " started in ",
		"start again: machine " + second + " was already started",
		"deleted machine " + launched[0][1],
		"deleted machine " + second,
		"deleted app faas-",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// The full list has both Machines, the metadata filter only the second.
	all := text[strings.Index(text, "all machines of the app:"):strings.Index(text, "machines with placement=nearby:")]
	nearby := text[strings.Index(text, "machines with placement=nearby:"):strings.Index(text, "deleted machine")]
	if !strings.Contains(all, launched[0][1]) || !strings.Contains(all, second) {
		t.Errorf("full list:\n%s", all)
	}
	if strings.Contains(nearby, launched[0][1]) || !strings.Contains(nearby, second) {
		t.Errorf("filtered list:\n%s", nearby)
	}
}

func TestFaaSCleansUpOnTheAPI(t *testing.T) {
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast(), flytest.WithCapacityError("nrt"))
	ctx := context.Background()
	appGone := func(name string) bool {
		_, err := c.Apps.Show(ctx, name)
		return errors.Is(err, flymachines.ErrNotFound)
	}

	var out bytes.Buffer
	if err := run(ctx, &out, []string{"-app", "my-functions"}, sandboxtest.Fast()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Fly Machines API") || !appGone("my-functions") {
		t.Errorf("the app is left, or the API was not used:\n%s", out.String())
	}

	// A failure half-way (no capacity in the second region) still takes
	// the app down, with the Machine launched in the first.
	out.Reset()
	err := run(ctx, &out, []string{"-app", "broken-functions", "-region2", "nrt"}, sandboxtest.Fast())
	if !errors.Is(err, flymachines.ErrCapacity) || !strings.Contains(err.Error(), "launching in nrt") {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "(fn-ord) in ord") {
		t.Errorf("no machine launched before the failure:\n%s", out.String())
	}
	if !appGone("broken-functions") {
		t.Error("a failed run left its app")
	}
}

func TestFaaSNeedsTwoRegions(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-region", "ord", "-region2", "ord"}, sandboxtest.Fast()); err == nil {
		t.Error("one region twice was accepted")
	}
	if err := run(context.Background(), &out, []string{"stray"}, sandboxtest.Fast()); err == nil {
		t.Error("a stray argument was accepted")
	}
}
