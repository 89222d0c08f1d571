package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/internal/sandbox/sandboxtest"
)

func TestFaaS(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-region", "ams", "-region2", "nrt"}); err != nil {
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
	_, c := sandboxtest.FlyStandIn(t, sandboxtest.Fast())
	ctx := context.Background()
	appGone := func(name string) bool {
		_, err := c.Apps.AppsShowContext(ctx, apps.NewAppsShowParams().WithAppName(name), nil)
		return errors.Is(err, flymachines.ErrNotFound)
	}

	var out bytes.Buffer
	if err := run(ctx, &out, []string{"-app", "my-functions"}); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Fly Machines API") || !appGone("my-functions") {
		t.Errorf("the app is left, or the API was not used:\n%s", out.String())
	}

	// A failure half-way (no such region) still takes the app down.
	out.Reset()
	err := run(ctx, &out, []string{"-app", "broken-functions", "-region2", "xyz"})
	if err == nil || !strings.Contains(err.Error(), "launching in xyz") {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	if !appGone("broken-functions") {
		t.Error("a failed run left its app")
	}
}

func TestFaaSNeedsTwoRegions(t *testing.T) {
	sandboxtest.NoToken(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"-region", "ord", "-region2", "ord"}); err == nil {
		t.Error("one region twice was accepted")
	}
}
