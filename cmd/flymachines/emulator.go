package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/flytest"
	"github.com/flymachines/flymachines-go/internal/sandbox"
)

// shutdownGrace bounds how long in-flight requests may finish at shutdown.
const shutdownGrace = 5 * time.Second

// bannerToken is the token the banner tells a shell to export when any
// token is accepted: a value the client takes as a token (8 characters or
// more, nothing a shell would read) and the emulator accepts.
const bannerToken = "flytest-emulator-token"

// runEmulator serves flytest's emulator until ctx ends. It behaves as the
// emulator embedded in demo, run and the examples does (sandbox's
// EmulatorOptions): a Machine that runs a command (init.exec or init.cmd)
// exits after --job-runtime, with the code of a trailing "exit N"; any
// other Machine runs until stopped.
func runEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flymachines emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4280", "`host:port` to listen on")
	tokens := fs.String("tokens", "", "comma-separated `list` of accepted API tokens (default: any token)")
	delay := fs.Duration("transition-delay", 0, fmt.Sprintf("how long each transient Machine state lasts (default %s)", sandbox.DefaultTransitionDelay))
	jobRuntime := fs.Duration("job-runtime", 0, fmt.Sprintf("how long a Machine's command runs before it exits (default %s)", sandbox.DefaultJobRuntime))
	rateLimits := fs.Bool("rate-limits", false, "enforce Fly's Machines API rate limits (429 with Retry-After)")
	region := fs.String("region", "", "region of Machines created without one (default ord)")
	verbose := fs.Bool("v", false, "log every request to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: flymachines emulator [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Serves an in-memory emulator of the Fly.io Machines API. A Machine that runs")
		fmt.Fprintln(stderr, "a command exits after -job-runtime (with N when the command ends in \"exit N\");")
		fmt.Fprintln(stderr, "other Machines run until stopped, as with the emulator built into demo and run.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "flymachines emulator: unexpected argument %q\n", fs.Arg(0))
		return errUsage
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
		opts = append(opts, flytest.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	emu := flytest.New(opts...)
	srv := &http.Server{
		Handler:           emu,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		// No write timeout: Machines_wait holds a request for up to 60s.
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	base := "http://" + clientAddr(ln.Addr())
	token := bannerToken
	if len(accepted) > 0 {
		token = accepted[0]
	}
	fmt.Fprintf(stdout, "Fly Machines API emulator listening on %s\n\n", base)
	fmt.Fprintln(stdout, "Point a client at it:")
	fmt.Fprintf(stdout, "  export FLY_API_HOSTNAME=%s\n", base)
	fmt.Fprintf(stdout, "  export FLY_API_TOKEN=%s\n\n", shellQuote(token))
	fmt.Fprintln(stdout, "Press Ctrl-C to stop.")

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
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(stdout, "emulator stopped")
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
