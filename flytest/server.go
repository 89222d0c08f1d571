package flytest

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The read limits of the HTTP servers the emulator starts (NewServer, and
// NewHTTPServer for the standalone `flymachines emulator`). A test's
// request arrives over loopback in well under a millisecond, so these
// only ever cut off a client that stalls or trickles its request, which
// would otherwise hold a connection and a goroutine for as long as it
// likes. There is no write limit: a wait answers up to 60 s after it was
// asked, and answering is a write (net/http lifts the read deadline once
// the request body has been read).
const (
	ReadHeaderTimeout = 5 * time.Second  // from connection (or previous answer) to the end of the header
	ReadTimeout       = 10 * time.Second // from the same start to the end of the body
)

// NewHTTPServer returns an http.Server that serves h with the emulator's
// read limits: what `flymachines emulator` runs.
func NewHTTPServer(h http.Handler) *http.Server {
	s := &http.Server{Handler: h}
	limitReads(s)
	return s
}

func limitReads(s *http.Server) {
	s.ReadHeaderTimeout = ReadHeaderTimeout
	s.ReadTimeout = ReadTimeout
}

// Server is an Emulator served over real HTTP on loopback.
type Server struct {
	*Emulator
	srv *httptest.Server
}

// NewServer starts an emulator on a loopback port, with the read limits
// above. It is closed by tb.Cleanup, after pending transitions are
// stopped.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	e := New(opts...)
	ts := httptest.NewUnstartedServer(e)
	limitReads(ts.Config)
	ts.Start()
	s := &Server{Emulator: e, srv: ts}
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
