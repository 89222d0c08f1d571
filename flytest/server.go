package flytest

import (
	"net/http/httptest"
	"testing"
)

// Server is an Emulator served over real HTTP on loopback.
type Server struct {
	*Emulator
	srv *httptest.Server
}

// NewServer starts an emulator on a loopback port. It is closed by
// tb.Cleanup, after pending transitions are stopped.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	e := New(opts...)
	s := &Server{Emulator: e, srv: httptest.NewServer(e)}
	tb.Cleanup(s.Close)
	return s
}

// URL is the server's base URL, e.g. "http://127.0.0.1:41234": what
// FLY_API_HOSTNAME or flymachines.WithBaseURL take.
func (s *Server) URL() string { return s.srv.URL }

// BaseURL is URL under another name, matching the client option.
func (s *Server) BaseURL() string { return s.srv.URL }

// Close stops the emulator and the HTTP server.
func (s *Server) Close() {
	s.Emulator.Close()
	s.srv.CloseClientConnections()
	s.srv.Close()
}
