package flytest

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"testing"
)

// TestMachineSocketOfOneMachine: on the socket of one Machine, requests
// about that Machine and what is under it need no token; requests about
// another Machine, the app, another app's Machine of the same id, or a
// path that names the Machine only once decoded, need one as anywhere; a
// token given on the socket is checked.
func TestMachineSocketOfOneMachine(t *testing.T) {
	t.Parallel()
	en := newEnv(t, WithTokens(testToken))
	own := en.create(createBody("nginx"))
	other := en.create(createBody("nginx"))
	en.createApp("other-app", "personal")

	path := filepath.Join(t.TempDir(), "api.sock")
	en.srv.ServeMachineSocket(t, path, testApp, own.ID)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
	get := func(p, token string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://flaps"+p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	base := "/v1/apps/" + testApp + "/machines/"
	for _, tc := range []struct {
		path, token string
		want        int
	}{
		{base + own.ID, "", http.StatusOK},
		{base + own.ID + "/metadata", "", http.StatusOK},
		{base + own.ID, testToken, http.StatusOK},
		{base + own.ID, "not-a-known-token", http.StatusUnauthorized},
		{base + other.ID, "", http.StatusUnauthorized},
		{base + other.ID, testToken, http.StatusOK},
		{"/v1/apps/" + testApp + "/machines", "", http.StatusUnauthorized},
		{"/v1/apps/" + testApp, "", http.StatusUnauthorized},
		{"/v1/apps/other-app/machines/" + own.ID, "", http.StatusUnauthorized},
		// Decoded, this names the own Machine first; routed, it is
		// another id, and no Machine's.
		{base + own.ID + "%2F..%2F" + other.ID, "", http.StatusNotFound},
	} {
		if got := get(tc.path, tc.token); got != tc.want {
			t.Errorf("GET %s (token %q): %d, want %d", tc.path, tc.token, got, tc.want)
		}
	}
}
