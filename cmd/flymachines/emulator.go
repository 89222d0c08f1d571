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
)

// shutdownGrace bounds how long in-flight requests may finish at shutdown.
const shutdownGrace = 5 * time.Second

// runEmulator serves flytest's emulator until ctx ends.
func runEmulator(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("flymachines emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:4280", "`host:port` to listen on")
	tokens := fs.String("tokens", "", "comma-separated `list` of accepted API tokens (default: any token)")
	delay := fs.Duration("transition-delay", 0, "how long each transient Machine state lasts (default 20ms)")
	rateLimits := fs.Bool("rate-limits", false, "enforce Fly's Machines API rate limits (429 with Retry-After)")
	region := fs.String("region", "", "region of Machines created without one (default ord)")
	verbose := fs.Bool("v", false, "log every request to stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: flymachines emulator [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Serves an in-memory emulator of the Fly.io Machines API.")
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

	var opts []flytest.Option
	var accepted []string
	for t := range strings.SplitSeq(*tokens, ",") {
		if t = strings.TrimSpace(t); t != "" {
			accepted = append(accepted, t)
		}
	}
	if len(accepted) > 0 {
		opts = append(opts, flytest.WithTokens(accepted...))
	}
	if *delay > 0 {
		opts = append(opts, flytest.WithTransitionDelay(*delay))
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
	token := "<any token>"
	if len(accepted) > 0 {
		token = accepted[0]
	}
	fmt.Fprintf(stdout, "Fly Machines API emulator listening on %s\n\n", base)
	fmt.Fprintln(stdout, "Point a client at it:")
	fmt.Fprintf(stdout, "  export FLY_API_HOSTNAME=%s\n", base)
	fmt.Fprintf(stdout, "  export FLY_API_TOKEN=%s\n\n", token)
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
