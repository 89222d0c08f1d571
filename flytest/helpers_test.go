package flytest

import (
	"testing"

	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/client"
)

// testToken is accepted by emulators built with newTestServer.
const testToken = "flytest-token"

// newTestClient starts an emulator and returns the generated client aimed at
// it, with a Bearer token; it talks real HTTP over loopback.
func newTestClient(t *testing.T, opts ...Option) (*Server, *client.MachinesAPI) {
	t.Helper()
	srv := NewServer(t, opts...)
	tr := httptransport.New(srv.srv.Listener.Addr().String(), "/", []string{"http"})
	tr.DefaultAuthentication = httptransport.BearerToken(testToken)
	return srv, client.New(tr, strfmt.Default)
}
