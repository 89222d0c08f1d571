package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/sandbox"
)

// shutdownGrace bounds how long in-flight requests may finish at shutdown.
const shutdownGrace = 5 * time.Second

// bannerToken is the token the banner tells a shell to export when any
// token is accepted: a value the client takes as a token (8 characters or
// more, nothing a shell would read) and the emulator accepts. It shares no
// start with the "-flytest" that ends the emulator's request ids, which
// the CLI's redaction would take for the token cut short.
const bannerToken = "local-emulator-token"

// runEmulator serves flytest's emulator until ctx ends. It behaves as the
// emulator embedded in demo, run and the examples does (sandbox's
// EmulatorOptions): a Machine that runs a command (init.exec or init.cmd)
// exits after --job-runtime, with the code of a trailing "exit N"; any
// other Machine runs until stopped.
func runEmulator(ctx context.Context, cl *cli, args []string) error {
	fs := flag.NewFlagSet("flymachines emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:4280", "`host:port` to listen on")
	tokens := fs.String("tokens", "", "comma-separated `list` of accepted API tokens (default: any token)")
	delay := fs.Duration("transition-delay", 0, fmt.Sprintf("how long each transient Machine state lasts (default %s)", sandbox.DefaultTransitionDelay))
	jobRuntime := fs.Duration("job-runtime", 0, fmt.Sprintf("how long a Machine's command runs before it exits (default %s)", sandbox.DefaultJobRuntime))
	rateLimits := fs.Bool("rate-limits", false, "enforce Fly's Machines API rate limits (429 with Retry-After)")
	socket := fs.String("socket", "", "also serve on a Unix socket at `path`, as a Machine's /.fly/api: requests about a Machine need no token there")
	region := fs.String("region", "", "region of Machines created without one (default "+sandbox.EmulatorRegion+")")
	verbose := fs.Bool("v", false, "log every request to stderr")
	usage := func(w io.Writer) {
		printUsage(w, fs, "flymachines emulator [flags]", `
Serves an in-memory emulator of the Fly.io Machines API, and prints the two
variables that point a client at it. A Machine that runs a command exits
after --job-runtime (with N when the command ends in "exit N"); other
Machines run until stopped, as with the emulator built into demo and run.`,
			"  flymachines emulator\n  flymachines emulator --addr 127.0.0.1:0 --tokens my-test-token --rate-limits -v\n  flymachines emulator --socket /tmp/fly-api.sock")
	}
	rest, err := parseFlags(fs, args, cl.stdout, cl.stderr, usage)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError(cl.stderr, fs.Name(), "unexpected argument %q", rest[0])
	}

	opts := sandbox.EmulatorOptions(sandbox.Config{TransitionDelay: *delay, JobRuntime: *jobRuntime})
	var accepted []string
	for t := range strings.SplitSeq(*tokens, ",") {
		if t = strings.TrimSpace(t); t != "" {
			accepted = append(accepted, t)
		}
	}
	if len(accepted) > 0 {
		opts = append(opts, flytest.WithTokens(accepted...))
	}
	if *rateLimits {
		opts = append(opts, flytest.WithRateLimits())
	}
	if *region != "" {
		opts = append(opts, flytest.WithDefaultRegion(*region))
	}
	if *verbose {
		opts = append(opts, flytest.WithLogger(slog.New(slog.NewTextHandler(cl.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	emu := flytest.New(opts...)
	// flytest's read limits, so a stalled client is cut off; no write
	// timeout: Machines_wait holds a request for up to 60s.
	srv := flytest.NewHTTPServer(emu)
	srv.IdleTimeout = 2 * time.Minute
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	var sockSrv *http.Server
	if *socket != "" {
		// The banner's unix:// URL needs the absolute path.
		abs, err := filepath.Abs(*socket)
		if err != nil {
			_ = srv.Close()
			emu.Close()
			return err
		}
		*socket = abs
		sl, err := net.Listen("unix", *socket)
		if err != nil {
			_ = srv.Close()
			emu.Close()
			return err
		}
		sockSrv = flytest.NewHTTPServer(emu.MachineSocket("", ""))
		sockSrv.IdleTimeout = 2 * time.Minute
		go func() { serveErr <- sockSrv.Serve(sl) }()
	}

	base := "http://" + clientAddr(ln.Addr())
	token := bannerToken
	if len(accepted) > 0 {
		token = accepted[0]
	}
	fmt.Fprintf(cl.stdout, "Fly Machines API emulator listening on %s\n\n", base)
	fmt.Fprintln(cl.stdout, "Point a client at it:")
	fmt.Fprintf(cl.stdout, "  export FLY_API_HOSTNAME=%s\n", base)
	fmt.Fprintf(cl.stdout, "  export FLY_API_TOKEN=%s\n\n", shellQuote(token))
	if sockSrv != nil {
		fmt.Fprintln(cl.stdout, "Or, as a program on a Machine talks to its own API socket (no token needed):")
		fmt.Fprintf(cl.stdout, "  export FLY_API_HOSTNAME=%s\n\n", shellQuote("unix://"+*socket))
	}
	fmt.Fprintln(cl.stdout, "Press Ctrl-C to stop.")

	select {
	case err := <-serveErr:
		emu.Close()
		return err
	case <-ctx.Done():
	}
	// Close first: it ends blocked waits, which Shutdown would sit out.
	emu.Close()
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if sockSrv != nil {
		_ = sockSrv.Shutdown(shutCtx)
	}
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(cl.stdout, "emulator stopped")
	return nil
}

// clientAddr is the address a local client dials: a wildcard listen
// address is reached through loopback.
func clientAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), fmt.Sprint(tcp.Port))
}

// shellQuote quotes s for a POSIX shell unless it needs no quoting, so the
// banner's export lines work when pasted.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.,:/@%+=", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
