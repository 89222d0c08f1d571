package flymachines

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// requestTap answers every request with 200 {} and remembers the last one
// as it would go on the wire.
type requestTap struct{ last *http.Request }

func (r *requestTap) RoundTrip(req *http.Request) (*http.Response, error) {
	r.last = req
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader("{}")), Request: req}, nil
}

// TestBaseURLPathReachesRequests: the path of an accepted base URL is the
// one requests go under, and BaseURL shows it. The generated client parses
// the base path as a URL again, so a leading "//" lost its first segment
// (read as a host) and ?, # or % turned into a query, a fragment or a
// broken escape, and a control character failed every call (found by
// FuzzParseBaseURL).
func TestBaseURLPathReachesRequests(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, base, path string }{
		{"https://proxy.example.com/machines", "https://proxy.example.com/machines", "/machines/v1/apps/app/machines/m1"},
		{"https://proxy.example.com//machines/", "https://proxy.example.com/machines", "/machines/v1/apps/app/machines/m1"},
		{"0//0", "https://0/0", "/0/v1/apps/app/machines/m1"},
		{"https://a/x//y", "https://a/x/y", "/x/y/v1/apps/app/machines/m1"},
		{"https://a/x/../y/.", "https://a/y", "/y/v1/apps/app/machines/m1"},
		{"https://a/..", "https://a", "/v1/apps/app/machines/m1"},
		{"https://a/b%2Fc", "https://a/b/c", "/b/c/v1/apps/app/machines/m1"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			tap := &requestTap{}
			c, err := New(WithToken(testBearer), WithBaseURL(tc.in), WithHTTPClient(&http.Client{Transport: tap}))
			if err != nil {
				t.Fatal(err)
			}
			if c.BaseURL() != tc.base {
				t.Errorf("BaseURL() = %q, want %q", c.BaseURL(), tc.base)
			}
			if _, err := c.Machines.Show(context.Background(), "app", "m1", nil); err != nil {
				t.Fatal(err)
			}
			if got := tap.last.URL.EscapedPath(); got != tc.path || tap.last.URL.RawQuery != "" {
				t.Errorf("request to %s?%s, want %s", got, tap.last.URL.RawQuery, tc.path)
			}
		})
	}
	for _, in := range []string{"https://a/b%3Fx=1", "https://a/b%23frag", "https://a/b%25c", "https://a/%3F", "0/00000%00000000000", "https://a/b%7Fc", "https://a/b%0Ac"} {
		if _, err := parseBaseURL(in); !errors.Is(err, ErrInvalidBaseURL) {
			t.Errorf("parseBaseURL(%q) = %v, want ErrInvalidBaseURL", in, err)
		}
	}
}
