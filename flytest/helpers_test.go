package flytest

import (
	"testing"

	httptransport "github.com/go-openapi/runtime/client"

	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client"
)

// testToken is accepted by emulators built with newTestServer.
const testToken = "flytest-token"

// otherToken is a second caller, a different lease owner than testToken's.
const otherToken = "someone-else"

// asOther sends a call as otherToken's holder: the runtime's default
// Bearer token is only added when the call has no Authorization header.
var asOther = call.WithHeader("Authorization", "Bearer "+otherToken)

// newTestClient starts an emulator and returns the generated client aimed at
// it, with a Bearer token; it talks real HTTP over loopback. It is the bare
// generated client, not the facade: these tests assert what the emulator
// answers, so nothing may retry, validate or add a lease nonce in between.
func newTestClient(t *testing.T, opts ...Option) (*Server, *client.API) {
	t.Helper()
	srv := NewServer(t, opts...)
	return srv, clientFor(srv)
}

// clientFor is the generated client aimed at srv with testToken.
func clientFor(srv *Server) *client.API {
	tr := httptransport.New(srv.srv.Listener.Addr().String(), "/", []string{"http"})
	tr.DefaultAuthentication = httptransport.BearerToken(testToken)
	return client.New(tr)
}
