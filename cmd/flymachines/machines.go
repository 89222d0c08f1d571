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
	"github.com/flymachines/flymachines-go/sandbox"
)

// machinesCommands are the subcommands of `flymachines machines`.
var machinesCommands = []command{
	{name: "list", summary: "list an app's Machines, optionally by metadata", run: runMachinesList},
	{name: "get", summary: "print one Machine as JSON", run: runMachinesGet},
	{name: "wait", summary: "wait for a Machine to reach a state", run: runMachinesWait},
}

// apiClient is a client configured by the environment, as flymachines.New
// does it.
func (cl *cli) apiClient() (*flymachines.Client, error) {
	c, err := flymachines.New(cl.sandbox.ClientOptions...)
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
select: Fly's, or a 'flymachines emulator' once its variables are exported.
`

func runMachinesList(ctx context.Context, cl *cli, args []string) error {
	fs := flag.NewFlagSet("flymachines machines list", flag.ContinueOnError)
	app := appFlag(fs)
	meta := keyValueFlag{}
	fs.Var(meta, "metadata", "only Machines whose metadata has `KEY=VALUE`; repeat to require several")
	all := fs.Bool("all", false, "include destroyed Machines")
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines machines list --app APP [--metadata KEY=VALUE]...",
			"Lists the Machines of an app: id, name, state, region, image and last update.\n"+machinesEnvNote,
			"  flymachines machines list --app my-app\n  flymachines machines list --app my-app --metadata role=worker")
	}
	rest, err := parseFlags(fs, args, cl.stdout, cl.stderr, usage)
	if err != nil {
		return err
	}
	switch {
	case *app == "":
		return usageError(cl.stderr, fs.Name(), "--app is required (or set FLY_APP)")
	case len(rest) > 0:
		return usageError(cl.stderr, fs.Name(), "unexpected argument %q", rest[0])
	}
	c, err := cl.apiClient()
	if err != nil {
		return err
	}

	list, err := c.Machines.List(ctx, *app, &machines.ListParams{IncludeDeleted: *all, Metadata: meta})
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintf(cl.stdout, "no machines in app %s\n", *app)
		return nil
	}
	tw := tabwriter.NewWriter(cl.stdout, 0, 0, 2, ' ', 0)
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

func runMachinesGet(ctx context.Context, cl *cli, args []string) error {
	fs := flag.NewFlagSet("flymachines machines get", flag.ContinueOnError)
	app := appFlag(fs)
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines machines get --app APP MACHINE_ID",
			"Prints a Machine as the API describes it, as indented JSON, leaving out the\nfields that are null.\n"+machinesEnvNote,
			"  flymachines machines get --app my-app 3d8d413b29d089\n  flymachines machines get 3d8d413b29d089 --app my-app | jq .config.guest")
	}
	rest, err := parseFlags(fs, args, cl.stdout, cl.stderr, usage)
	if err != nil {
		return err
	}
	switch {
	case *app == "":
		return usageError(cl.stderr, fs.Name(), "--app is required (or set FLY_APP)")
	case len(rest) != 1:
		return usageError(cl.stderr, fs.Name(), "want one machine id, got %d arguments", len(rest))
	}
	c, err := cl.apiClient()
	if err != nil {
		return err
	}
	m, err := c.Machines.Show(ctx, *app, rest[0], nil)
	if err != nil {
		return err
	}
	js, err := indentedWithoutNulls(m)
	if err != nil {
		return err
	}
	_, err = cl.stdout.Write(jsonTerminalSafe(js))
	return err
}

// waitableStates are the states `machines wait` accepts.
var waitableStates = []string{
	flymachines.StateStarted, flymachines.StateStopped, flymachines.StateSuspended,
	flymachines.StateDestroyed, flymachines.StateFailed, flymachines.StateSettled,
}

func runMachinesWait(ctx context.Context, cl *cli, args []string) error {
	fs := flag.NewFlagSet("flymachines machines wait", flag.ContinueOnError)
	app := appFlag(fs)
	stateList := fs.String("state", flymachines.StateStarted, "`states` to wait for, comma-separated: "+strings.Join(waitableStates, ", "))
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this `duration`")
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines machines wait --app APP MACHINE_ID [--state STATE[,STATE...]] [--timeout 2m]",
			"Waits, with the API's server-side wait, until the Machine is in one of the\nstates, printing a line every few seconds meanwhile. Exits 1 if time runs out\nor the Machine fails or is destroyed first.\n"+machinesEnvNote,
			"  flymachines machines wait --app my-app 3d8d413b29d089\n  flymachines machines wait --app my-app 3d8d413b29d089 --state stopped,destroyed --timeout 10m")
	}
	rest, err := parseFlags(fs, args, cl.stdout, cl.stderr, usage)
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
		return usageError(cl.stderr, fs.Name(), "--app is required (or set FLY_APP)")
	case len(rest) != 1:
		return usageError(cl.stderr, fs.Name(), "want one machine id, got %d arguments", len(rest))
	case len(states) == 0:
		return usageError(cl.stderr, fs.Name(), "--state is empty")
	case *timeout <= 0:
		return usageError(cl.stderr, fs.Name(), "--timeout must be positive")
	}
	for _, s := range states {
		if !slices.Contains(waitableStates, s) {
			return usageError(cl.stderr, fs.Name(), "unknown state %q: want %s", s, strings.Join(waitableStates, ", "))
		}
	}
	c, err := cl.apiClient()
	if err != nil {
		return err
	}

	id, want := rest[0], strings.Join(states, " or ")
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	begin := time.Now()
	stop := cl.watch(ctx, c, *app, id, "to be "+want)
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
	fmt.Fprintf(cl.stdout, "machine %s is %s (waited %s)\n", id, res.State, shortDuration(time.Since(begin)))
	return nil
}

// indentedWithoutNulls is v as indented JSON, without the object members
// that are null: the API sends many (a Machine's incomplete_config, say),
// and they tell a reader nothing. Numbers keep their exact text.
func indentedWithoutNulls(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(dropNulls(tree)); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// dropNulls removes the null members of every object in a decoded JSON
// tree, at any depth.
func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if e == nil {
				delete(v, k)
				continue
			}
			v[k] = dropNulls(e)
		}
	case []any:
		for i, e := range v {
			v[i] = dropNulls(e)
		}
	}
	return v
}
