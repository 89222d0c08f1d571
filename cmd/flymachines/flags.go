package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// parseFlags parses args into fs, flags and positional arguments in any
// order (`get ID --app A` as well as `get --app A ID`; after "--" all is
// positional), and returns the positional ones. -h or --help prints usage
// to stdout and returns flag.ErrHelp. Any other problem is one line on
// stderr and errUsage.
func parseFlags(fs *flag.FlagSet, args []string, stdout, stderr io.Writer, usage func(io.Writer)) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			usage(stdout)
			return nil, flag.ErrHelp
		}
		if err != nil {
			return nil, usageError(stderr, fs.Name(), "%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError prints a usage problem as one line and returns errUsage.
func usageError(stderr io.Writer, command, format string, args ...any) error {
	fmt.Fprintf(stderr, "%s: %s (see '%s -h')\n", command, fmt.Sprintf(format, args...), command)
	return errUsage
}

// printUsage writes a command's help: its usage line, what it does, its
// flags and examples.
func printUsage(w io.Writer, fs *flag.FlagSet, synopsis, about, examples string) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", synopsis, strings.TrimSpace(about))
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nflags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if examples != "" {
		fmt.Fprintf(w, "\nexamples:\n%s\n", strings.TrimRight(examples, "\n"))
	}
}

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// keyValueFlag collects repeated KEY=VALUE flags.
type keyValueFlag map[string]string

func (kv keyValueFlag) String() string {
	parts := make([]string, 0, len(kv))
	for k, v := range kv {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

func (kv keyValueFlag) Set(v string) error {
	key, value, ok := strings.Cut(v, "=")
	if !ok || strings.TrimSpace(key) == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	kv[key] = value
	return nil
}
