package flymachines

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"strings"
	"unicode"
)

// The Machines API endpoints.
const (
	// PublicBaseURL is the API on the internet, over HTTPS.
	PublicBaseURL = "https://api.machines.dev"
	// WireGuardBaseURL is the API inside the Fly private network: from a
	// Machine, or over a WireGuard peer (fly wireguard). Plain HTTP is
	// fine there: the network is encrypted.
	WireGuardBaseURL = "http://_api.internal:4280"
	// APIProxyBaseURL is `fly machines api-proxy` on this host, which
	// forwards to the private network.
	APIProxyBaseURL = "http://127.0.0.1:4280"
	// MachineSocketBaseURL is the API socket every Fly Machine has at
	// MachineSocketPath. It answers requests about the Machine itself
	// without a token (others need one, as anywhere), so on this base URL
	// alone the token is optional. See also PreferMachineSocket.
	MachineSocketBaseURL = "unix://" + MachineSocketPath
)

// MachineSocketPath is where a Fly Machine finds its API socket.
const MachineSocketPath = "/.fly/api"

// socketHost is the host name requests over a Unix socket carry, as Fly's
// own examples send them (curl --unix-socket /.fly/api http://flaps/v1/...).
const socketHost = "flaps"

// ErrInsecureBaseURL means a base URL asked for plain HTTP to a host outside
// the Fly private network and loopback: the token would cross the internet
// in clear text.
var ErrInsecureBaseURL = errors.New("flymachines: plain HTTP is only allowed to loopback and the Fly private network (*.internal, fdaa::/16)")

// ErrInvalidBaseURL is matched by errors about a base URL that cannot be used.
var ErrInvalidBaseURL = errors.New("flymachines: invalid base URL")

// flyPrivateNet is the Fly private network (6PN) range.
var flyPrivateNet = netip.MustParsePrefix("fdaa::/16")

// schemeThenPath matches a URL that has a scheme but no authority
// ("unix:/path", "http:/host", "unix:"): what follows the colon is no port
// number. Read as a host name, "unix:/x" would have been https://unix/x,
// a request to whatever host "unix" resolves to.
var schemeThenPath = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:([^0-9]|$)`)

// parseBaseURL reads a base URL given with or without a scheme and checks it
// against the host policy. Without a scheme, a host that may use plain HTTP
// (loopback, the private network) gets http, every other host https: so
// FLY_API_HOSTNAME=_api.internal:4280 and =api.machines.dev both work.
func parseBaseURL(raw string) (*url.URL, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidBaseURL)
	}
	if !strings.Contains(s, "://") && !schemeThenPath.MatchString(s) {
		u, err := url.Parse("http://" + s)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidBaseURL, err)
		}
		if !allowsPlaintext(u.Hostname()) {
			u.Scheme = "https"
		}
		return checkBaseURL(u)
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidBaseURL, err)
	}
	if strings.EqualFold(u.Scheme, "unix") {
		return checkSocketURL(u)
	}
	return checkBaseURL(u)
}

// checkSocketURL accepts unix:///absolute/path: a Unix socket on this host,
// which no network sees, so plain HTTP is fine over it.
func checkSocketURL(u *url.URL) (*url.URL, error) {
	switch {
	case u.Host != "" || u.User != nil:
		return nil, fmt.Errorf("%w: a unix socket URL has no host (unix:///path)", ErrInvalidBaseURL)
	case !strings.HasPrefix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%w: want unix:///absolute/path/of/socket", ErrInvalidBaseURL)
	}
	return &url.URL{Scheme: "unix", Path: path.Clean(u.Path)}, nil
}

// isSocket reports a base URL of a Unix socket.
func isSocket(u *url.URL) bool { return u.Scheme == "unix" }

// requestOrigin is where requests to base go on the wire: base itself, or
// for a Unix socket the http://flaps every request over it carries.
func requestOrigin(base *url.URL) *url.URL {
	if isSocket(base) {
		return &url.URL{Scheme: "http", Host: socketHost}
	}
	return base
}

func checkBaseURL(u *url.URL) (*url.URL, error) {
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%w: scheme %q, want http or https", ErrInvalidBaseURL, u.Scheme)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%w: no host", ErrInvalidBaseURL)
	case u.User != nil:
		// Credentials belong in the token, not in a URL that ends up in logs.
		return nil, fmt.Errorf("%w: user information in the URL is not supported", ErrInvalidBaseURL)
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("%w: a base URL has no query or fragment", ErrInvalidBaseURL)
	case !hostPolicyAllows(u):
		return nil, fmt.Errorf("%w: %s://%s", ErrInsecureBaseURL, u.Scheme, u.Host)
	case strings.ContainsAny(u.Path, "?#%") || strings.ContainsFunc(u.Path, unicode.IsControl):
		// The generated client parses the base path as a URL again: these
		// would become a query, a fragment, a bad escape or a refused URL.
		return nil, fmt.Errorf("%w: the path cannot hold ?, #, %% or control characters (escaped or not)", ErrInvalidBaseURL)
	}
	// Cleaned as the generated client joins paths, so BaseURL shows where
	// requests go; and a path starting with "//" would be read as a host
	// there, its first segment lost.
	u.Path = strings.TrimRight(path.Clean("/"+u.Path), "/")
	u.RawPath = ""
	return u, nil
}

// hostPolicyAllows is the one rule about where requests may go: HTTPS
// anywhere, plain HTTP only to loopback and the Fly private network. New
// applies it to the base URL and the transport to every request that would
// carry the token.
func hostPolicyAllows(u *url.URL) bool {
	switch strings.ToLower(u.Scheme) {
	case "https":
		return true
	case "http":
		return allowsPlaintext(u.Hostname())
	}
	return false
}

// allowsPlaintext reports whether host is loopback ("localhost",
// 127.0.0.0/8, ::1) or in the Fly private network (a *.internal name or an
// address in fdaa::/16).
func allowsPlaintext(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".internal") {
		return true
	}
	addr, err := netip.ParseAddr(h)
	if err != nil {
		return false
	}
	addr = addr.WithZone("").Unmap()
	return addr.IsLoopback() || flyPrivateNet.Contains(addr)
}
