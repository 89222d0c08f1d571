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
	cold := regexp.MustCompile(`invocation in (\w+): created and started machine (\w+) `).FindAllStringSubmatch(text, -1)
	if len(cold) != 2 || cold[0][1] != "ams" || cold[1][1] != "nrt" {
		t.Fatalf("want a cold invocation in ams and in nrt, got %q:\n%s", cold, text)
	}
	first, second := cold[0][2], cold[1][2]
	// The warm invocation starts the same Machine again; two at once get
	// one Machine each, one of them new.
	if !strings.Contains(text, "again in ams: started machine "+first+" ") {
		t.Errorf("the second invocation in ams did not reuse %s:\n%s", first, text)
	}
	atOnce := regexp.MustCompile(`at once in ams: (created and started|started) machine (\w+) `).FindAllStringSubmatch(text, -1)
	if len(atOnce) != 2 || atOnce[0][2] == atOnce[1][2] {
		t.Errorf("two invocations at once: %q, want two machines:\n%s", atOnce, text)
	}
	for _, want := range []string{
		"created app faas-", "pool hello-ams: 2 machines, 2 free", "pool hello-nrt: 1 machine, 1 free",
		"drained pool hello-ams", "drained pool hello-nrt", "deleted app faas-",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	// The full list has every Machine, the metadata filter only nrt's.
	all := text[strings.Index(text, "all machines of the app:"):strings.Index(text, "machines with placement=nearby:")]
	nearby := text[strings.Index(text, "machines with placement=nearby:"):strings.Index(text, "drained pool")]
	if !strings.Contains(all, first) || !strings.Contains(all, second) || strings.Count(all, "stopped") != 3 {
		t.Errorf("full list:\n%s", all)
	}
	if strings.Contains(nearby, first) || !strings.Contains(nearby, second) {
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
	if !errors.Is(err, flymachines.ErrCapacity) || !strings.Contains(err.Error(), "invoking in nrt") {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "invocation in ord: created and started machine") {
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
