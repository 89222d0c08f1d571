package flymachines

import (
	"errors"
	"net/url"
	"testing"
)

func TestParseBaseURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   string
		want string // "" when an error is expected
		err  error
	}{
		{PublicBaseURL, "https://api.machines.dev", nil},
		{WireGuardBaseURL, "http://_api.internal:4280", nil},
		{APIProxyBaseURL, "http://127.0.0.1:4280", nil},
		{"https://api.machines.dev/", "https://api.machines.dev", nil},
		{"https://proxy.example.com/machines/", "https://proxy.example.com/machines", nil},
		{"HTTP://LOCALHOST:4280", "http://LOCALHOST:4280", nil},
		{"http://localhost.:4280", "http://localhost.:4280", nil},
		{"http://127.8.9.10", "http://127.8.9.10", nil},
		{"http://[::1]:4280", "http://[::1]:4280", nil},
		{"http://[::ffff:127.0.0.1]:4280", "http://[::ffff:127.0.0.1]:4280", nil},
		{"http://[fdaa:0:1a2b::3]:4280", "http://[fdaa:0:1a2b::3]:4280", nil},
		{"http://my-app.vm.my-app.internal:8080", "http://my-app.vm.my-app.internal:8080", nil},
		// Without a scheme: http where plain HTTP is allowed, else https.
		{"api.machines.dev", "https://api.machines.dev", nil},
		{"_api.internal:4280", "http://_api.internal:4280", nil},
		{"127.0.0.1:4280", "http://127.0.0.1:4280", nil},
		{"[fdaa::3]:4280", "http://[fdaa::3]:4280", nil},
		{"  api.machines.dev\n", "https://api.machines.dev", nil},
		// Plain HTTP anywhere else is refused.
		{"http://api.machines.dev", "", ErrInsecureBaseURL},
		{"http://10.0.0.1:4280", "", ErrInsecureBaseURL},
		{"http://192.168.1.2", "", ErrInsecureBaseURL},
		{"http://[fdab::1]:4280", "", ErrInsecureBaseURL},
		{"http://[2001:db8::1]", "", ErrInsecureBaseURL},
		{"http://internal", "", ErrInsecureBaseURL},
		{"http://api.internal.example.com", "", ErrInsecureBaseURL},
		{"http://localhost.example.com", "", ErrInsecureBaseURL},
		// Unusable URLs.
		{"", "", ErrInvalidBaseURL},
		{"ftp://api.machines.dev", "", ErrInvalidBaseURL},
		{"https://", "", ErrInvalidBaseURL},
		{"https://user:pass@api.machines.dev", "", ErrInvalidBaseURL},
		{"https://api.machines.dev/?x=1", "", ErrInvalidBaseURL},
		{"https://api.machines.dev/#frag", "", ErrInvalidBaseURL},
		{"https://api.machines.dev:bad", "", ErrInvalidBaseURL},
		// A scheme without "//" is a scheme, not a host name: "unix:/x" was
		// https://unix/x, "http:/localhost" https://http/localhost.
		{"unix:/run/api.sock", "unix:///run/api.sock", nil},
		{"UNIX:///run/api.sock", "unix:///run/api.sock", nil},
		{"http:/localhost:4280", "", ErrInvalidBaseURL},
		{"https:/api.machines.dev", "", ErrInvalidBaseURL},
		{"ftp:/x", "", ErrInvalidBaseURL},
		{"unix:relative/api.sock", "", ErrInvalidBaseURL},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			u, err := parseBaseURL(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if u.String() != tc.want {
				t.Errorf("got %q, want %q", u.String(), tc.want)
			}
		})
	}
}

func TestHostPolicyAllows(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"https://anywhere.example":  true,
		"http://anywhere.example":   false,
		"http://_api.internal:4280": true,
		"http://127.0.0.1":          true,
		"http://[fdaa::1]":          true,
		"http://[fdaa::1%25eth0]":   true,
		"ws://127.0.0.1":            false,
	}
	for in, want := range cases {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := hostPolicyAllows(u); got != want {
			t.Errorf("hostPolicyAllows(%s) = %v, want %v", in, got, want)
		}
	}
}
