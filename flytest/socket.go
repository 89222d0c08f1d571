package flytest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
)

// MachineSocket is the emulator as seen through a Fly Machine's API socket
// (/.fly/api): requests about that Machine itself (its path and what is
// under it) need no token; any other request is authorized as usual. With
// app and machineID empty, it stands for the socket of every Machine: a
// request about any one Machine needs no token. Serve it on a Unix
// listener.
func (e *Emulator) MachineSocket(app, machineID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, id, ok := machinePath(r.URL.Path); ok && (app == "" || a == app) && (machineID == "" || id == machineID) {
			r = r.WithContext(context.WithValue(r.Context(), socketKey{}, true))
		}
		e.ServeHTTP(w, r)
	})
}

// machinePath reads /v1/apps/{app}/machines/{id}[/...].
func machinePath(p string) (app, id string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/v1/apps/")
	if !ok {
		return "", "", false
	}
	parts := strings.SplitN(rest, "/", 4)
	if len(parts) < 3 || parts[1] != "machines" || parts[0] == "" || parts[2] == "" {
		return "", "", false
	}
	return parts[0], parts[2], true
}

type socketKey struct{}

// fromOwnSocket reports a request MachineSocket let through without a token.
func fromOwnSocket(r *http.Request) bool {
	v, _ := r.Context().Value(socketKey{}).(bool)
	return v
}

// ServeMachineSocket serves MachineSocket(app, machineID) on a Unix socket
// at path until tb's cleanup.
func (s *Server) ServeMachineSocket(tb testing.TB, path, app, machineID string) {
	tb.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		tb.Fatal(err)
	}
	srv := &http.Server{Handler: s.MachineSocket(app, machineID)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			tb.Error(err)
		}
	}()
	tb.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
}
