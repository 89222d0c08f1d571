package flytest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/models"
)

// newResourceClient is newTestClient with quick state transitions.
func newResourceClient(t *testing.T, opts ...Option) (*Server, *client.API) {
	t.Helper()
	return newTestClient(t, append([]Option{WithTransitionDelay(time.Millisecond)}, opts...)...)
}

// mustCreateApp creates an app in org "personal" or fails the test.
func mustCreateApp(t *testing.T, c *client.API, name string) {
	t.Helper()
	mustCreateAppIn(t, c, name, "personal")
}

func mustCreateAppIn(t *testing.T, c *client.API, name, org string) {
	t.Helper()
	if _, err := c.Apps.Create(context.Background(), &models.CreateAppRequest{Name: name, OrgSlug: org}); err != nil {
		t.Fatalf("create app %s: %v", name, err)
	}
}

// statusOf is the HTTP status of an error from the generated client, or 0.
func statusOf(err error) int {
	if ce := callError(err); ce != nil {
		return ce.StatusCode
	}
	return 0
}

// wantStatus fails the test unless err is an API error with that status.
func wantStatus(t *testing.T, what string, err error, status int) {
	t.Helper()
	if got := statusOf(err); got != status {
		t.Errorf("%s: got %v (status %d), want status %d", what, err, got, status)
	}
}

// errorText is the {"error"} text of a generated client error, if it has one.
func errorText(err error) string {
	if b := errorBody(err); b != nil {
		return b.Error
	}
	return ""
}

// rawCall sends one request with the test token and returns status and
// body: for what the generated client cannot send.
func rawCall(t *testing.T, srv *Server, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
