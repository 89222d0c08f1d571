package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/internal/sandbox"
)

// machinesCommands are the subcommands of `flymachines machines`.
var machinesCommands = []command{
	{"list", "list an app's Machines, optionally by metadata", runMachinesList, false},
	{"get", "print one Machine as JSON", runMachinesGet, false},
	{"wait", "wait for a Machine to reach a state", runMachinesWait, false},
}

// runMachines dispatches `flymachines machines <subcommand>`.
func runMachines(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError(stderr, "flymachines machines", "missing subcommand: list, get or wait")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, "usage: flymachines machines <list|get|wait> [flags]")
		fmt.Fprintln(stdout)
		for _, c := range machinesCommands {
			fmt.Fprintf(stdout, "  %-6s %s\n", c.name, c.summary)
		}
		fmt.Fprintln(stdout, `
They talk to the API that FLY_API_TOKEN (or FLY_ACCESS_TOKEN) and
FLY_API_HOSTNAME select: Fly's, or a 'flymachines emulator' once its
variables are exported. Run 'flymachines machines <subcommand> -h' for its
flags.`)
		return flag.ErrHelp
	}
	for _, c := range machinesCommands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	return usageError(stderr, "flymachines machines", "unknown subcommand %q: want list, get or wait", args[0])
}

// apiClient is a client configured by the environment, as flymachines.New
// does it.
func apiClient() (*flymachines.Client, error) {
	c, err := flymachines.New()
	if errors.Is(err, flymachines.ErrNoToken) {
		return nil, errors.New("no API token: set FLY_API_TOKEN (or run 'flymachines emulator' and export the variables it prints)")
	}
	return c, err
}

// appFlag adds --app, defaulting to FLY_APP.
func appFlag(fs *flag.FlagSet) *string {
	return fs.String("app", os.Getenv(sandbox.EnvApp), "Fly `app` (env FLY_APP)")
}

const machinesEnvNote = `

The API is the one FLY_API_TOKEN (or FLY_ACCESS_TOKEN) and FLY_API_HOSTNAME
select.`

func runMachinesList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flymachines machines list", flag.ContinueOnError)
	app := appFlag(fs)
	meta := keyValueFlag{}
	fs.Var(meta, "metadata", "only Machines whose metadata has `KEY=VALUE`; repeat to require several")
	all := fs.Bool("all", false, "include destroyed Machines")
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines machines list --app APP [--metadata KEY=VALUE]...",
			"Lists the Machines of an app: id, name, state, region, image and last update."+machinesEnvNote,
			"  flymachines machines list --app my-app\n  flymachines machines list --app my-app --metadata role=worker")
	}
	rest, err := parseFlags(fs, args, stdout, stderr, usage)
	if err != nil {
		return err
	}
	switch {
	case *app == "":
		return usageError(stderr, fs.Name(), "--app is required (or set FLY_APP)")
	case len(rest) > 0:
		return usageError(stderr, fs.Name(), "unexpected argument %q", rest[0])
	}
	c, err := apiClient()
	if err != nil {
		return err
	}

	params := machines.NewMachinesListParams().WithAppName(*app)
	if *all {
		params.SetIncludeDeleted(new(true))
	}
	var filters []machines.ClientOption
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range meta {
			if !yield(k) {
				return
			}
		}
	}) {
		filters = append(filters, flymachines.MatchMetadata(k, meta[k]))
	}
	res, err := c.Machines.MachinesListContext(ctx, params, nil, filters...)
	if err != nil {
		return err
	}
	list := res.GetPayload()
	if len(list) == 0 {
		fmt.Fprintf(stdout, "no machines in app %s\n", *app)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tREGION\tIMAGE\tUPDATED")
	for _, m := range list {
		image := ""
		if conf := m.Config; conf != nil {
			image = conf.Image
		} else if conf := m.IncompleteConfig; conf != nil {
			image = conf.Image
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.Name, m.State, m.Region, image, m.UpdatedAt)
	}
	return tw.Flush()
}

func runMachinesGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flymachines machines get", flag.ContinueOnError)
	app := appFlag(fs)
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines machines get --app APP MACHINE_ID",
			"Prints a Machine as the API describes it, as indented JSON."+machinesEnvNote,
			"  flymachines machines get --app my-app 3d8d413b29d089\n  flymachines machines get 3d8d413b29d089 --app my-app | jq .config.guest")
	}
	rest, err := parseFlags(fs, args, stdout, stderr, usage)
	if err != nil {
		return err
	}
	switch {
	case *app == "":
		return usageError(stderr, fs.Name(), "--app is required (or set FLY_APP)")
	case len(rest) != 1:
		return usageError(stderr, fs.Name(), "want one machine id, got %d arguments", len(rest))
	}
	c, err := apiClient()
	if err != nil {
		return err
	}
	res, err := c.Machines.MachinesShowContext(ctx, machines.NewMachinesShowParams().WithAppName(*app).WithMachineID(rest[0]), nil)
	if err != nil {
		return err
	}
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res.GetPayload()); err != nil {
		return err
	}
	_, err = stdout.Write(jsonTerminalSafe(js.Bytes()))
	return err
}

// waitableStates are the states `machines wait` accepts.
var waitableStates = []string{
	flymachines.StateStarted, flymachines.StateStopped, flymachines.StateSuspended,
	flymachines.StateDestroyed, flymachines.StateFailed, flymachines.StateSettled,
}

func runMachinesWait(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flymachines machines wait", flag.ContinueOnError)
	app := appFlag(fs)
	stateList := fs.String("state", flymachines.StateStarted, "`states` to wait for, comma-separated: "+strings.Join(waitableStates, ", "))
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this `duration`")
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines machines wait --app APP MACHINE_ID [--state STATE[,STATE...]] [--timeout 2m]",
			"Waits, with the API's server-side wait, until the Machine is in one of the\nstates, printing a line every few seconds meanwhile. Exits 1 if time runs out\nor the Machine fails or is destroyed first."+machinesEnvNote,
			"  flymachines machines wait --app my-app 3d8d413b29d089\n  flymachines machines wait --app my-app 3d8d413b29d089 --state stopped,destroyed --timeout 10m")
	}
	rest, err := parseFlags(fs, args, stdout, stderr, usage)
	if err != nil {
		return err
	}
	var states []string
	for s := range strings.SplitSeq(*stateList, ",") {
		if s = strings.TrimSpace(s); s != "" {
			states = append(states, s)
		}
	}
	switch {
	case *app == "":
		return usageError(stderr, fs.Name(), "--app is required (or set FLY_APP)")
	case len(rest) != 1:
		return usageError(stderr, fs.Name(), "want one machine id, got %d arguments", len(rest))
	case len(states) == 0:
		return usageError(stderr, fs.Name(), "--state is empty")
	case *timeout <= 0:
		return usageError(stderr, fs.Name(), "--timeout must be positive")
	}
	for _, s := range states {
		if !slices.Contains(waitableStates, s) {
			return usageError(stderr, fs.Name(), "unknown state %q: want %s", s, strings.Join(waitableStates, ", "))
		}
	}
	c, err := apiClient()
	if err != nil {
		return err
	}

	id, want := rest[0], strings.Join(states, " or ")
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	begin := time.Now()
	stop := watch(ctx, c, *app, id, "to be "+want, stdout)
	res, err := c.WaitForState(ctx, *app, id, states)
	stop()
	if err != nil {
		if werr, ok := errors.AsType[*flymachines.WaitError](err); ok && errors.Is(err, flymachines.ErrTimeout) {
			last := werr.LastState
			if last == "" {
				last = "not looked up"
			}
			return fmt.Errorf("machine %s is not %s after %s (last seen: %s)", id, want, *timeout, last)
		}
		if errors.Is(err, context.Canceled) {
			return errors.New("interrupted")
		}
		return err
	}
	fmt.Fprintf(stdout, "machine %s is %s (waited %s)\n", id, res.State, shortDuration(time.Since(begin)))
	return nil
}
