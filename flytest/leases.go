package flytest

import (
	"context"

	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/client/ops"

	"github.com/flymachines/flymachines-go/models"
)

// leaseNonceHeader carries the nonce of a lease the caller holds.
const leaseNonceHeader = "fly-machine-lease-nonce"

// defaultLeaseTTL applies when a lease request gives no ttl.
const defaultLeaseTTL = 30 * time.Second

// maxLeaseTTL is the longest lease the emulator grants, in seconds. The API
// documents ttl (and lease_ttl) as a number of seconds and expires_at as a
// Unix time, with no maximum, and flaps sends whatever int its caller
// gives; so every TTL whose expiry can be represented is taken, up to what
// a time.Duration holds (about 292 years). A longer one is answered 400,
// as the API answers a value it cannot take, never turned into a wrapped,
// past expiry that would let a second owner in.
const maxLeaseTTL = math.MaxInt64 / int64(time.Second)

// leaseTTL reads a lease length given in seconds under the name param. On
// a value out of range it has answered 400.
func leaseTTL(w http.ResponseWriter, param string, secs int64) (time.Duration, bool) {
	if secs < 0 || secs > maxLeaseTTL {
		invalid(w, "%s must be a whole number of seconds from 0 to %d, got %d", param, maxLeaseTTL, secs)
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

// lease is an exclusive lock on a Machine, expiring on the emulator clock.
type lease struct {
	nonce       string
	owner       string
	description string
	version     string // the Machine version it was taken on
	expiresAt   time.Time
}

// tokenOf returns the caller's token without its scheme; auth has already
// checked that there is one.
func tokenOf(r *http.Request) string {
	_, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.TrimSpace(token)
}

// ownerOf names the caller as lease owner: set per token by WithLeaseOwner,
// else derived from the token, so different tokens are different owners.
func (e *Emulator) ownerOf(r *http.Request) string {
	token := tokenOf(r)
	if owner, ok := e.cfg.leaseOwners[token]; ok {
		return owner
	}
	sum := sha256.Sum256([]byte(token))
	return "user-" + hex.EncodeToString(sum[:4]) + "@flytest"
}

// activeLease returns m's lease unless it has expired, forgetting an
// expired one. Call with e.mu held.
func (e *Emulator) activeLease(m *machine) *lease {
	if m.lease != nil && !e.cfg.clock.Now().Before(m.lease.expiresAt) {
		m.lease = nil
	}
	return m.lease
}

// checkLease lets a mutation through unless someone holds m's lease and
// the request does not carry its nonce; then it has answered 409.
func (e *Emulator) checkLease(w http.ResponseWriter, r *http.Request, m *machine) bool {
	if !opOf(r).LeaseNonce {
		return true // the facts table: this operation does not honour leases
	}
	l := e.activeLease(m)
	if l == nil || r.Header.Get(leaseNonceHeader) == l.nonce {
		return true
	}
	leaseHeld(w, m, l)
	return false
}

func leaseHeld(w http.ResponseWriter, m *machine, l *lease) {
	writeError(w, http.StatusConflict, "", fmt.Sprintf("aborted: machine ID %s lease currently held by %s, expires at %s",
		m.id, l.owner, l.expiresAt.UTC().Format("2006-01-02 15:04:05 -0700 MST")))
}

// grantLease gives the caller a new lease on m. Call with e.mu held.
func (e *Emulator) grantLease(m *machine, r *http.Request, ttl time.Duration, description string) *lease {
	m.lease = &lease{
		nonce:       randomHex(8),
		owner:       e.ownerOf(r),
		description: description,
		version:     m.version,
		expiresAt:   e.cfg.clock.Now().Add(ttl),
	}
	return m.lease
}

func leaseBody(l *lease, withNonce bool) object {
	data := &models.Lease{Owner: l.owner, Description: l.description, Version: l.version, ExpiresAt: l.expiresAt.Unix()}
	if withNonce {
		data.Nonce = l.nonce
	}
	return leaseAnswer("success", data)
}

// machinesCreateLease grants or refreshes a lease. Its length comes from
// ttl in the body, as the spec declares, or in the query string, where
// flaps' AcquireLease and RefreshLease send it (with no body).
func (e *Emulator) machinesCreateLease(w http.ResponseWriter, r *http.Request) {
	var req models.CreateLeaseRequest
	if !decodeBody(w, r, &req, true) {
		return
	}
	if s := r.URL.Query().Get("ttl"); s != "" && req.TTL == 0 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			invalid(w, "ttl %q must be a whole number of seconds", s)
			return
		}
		req.TTL = n
	}
	ttl, ok := leaseTTL(w, "ttl", req.TTL)
	if !ok {
		return
	}
	if ttl == 0 {
		ttl = defaultLeaseTTL
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.lookupMachine(w, r)
		if m == nil {
			return
		}
		if m.state == stateDestroyed {
			notFound(w, "machine %s has been destroyed", m.id)
			return
		}
		l := e.activeLease(m)
		switch {
		case l == nil:
			l = e.grantLease(m, r, ttl, req.Description)
		case r.Header.Get(leaseNonceHeader) == l.nonce:
			// The holder refreshes: same nonce, new expiry.
			l.expiresAt = e.cfg.clock.Now().Add(ttl)
			l.version = m.version
			if req.Description != "" {
				l.description = req.Description
			}
		default:
			leaseHeld(w, m, l)
			return
		}
		writeJSON(w, http.StatusCreated, leaseBody(l, true))
	})
}

// machinesShowLease shows the lease; the nonce only to its owner, who may
// have lost it, never to anyone else.
func (e *Emulator) machinesShowLease(w http.ResponseWriter, r *http.Request) {
	e.locked(w, func(w http.ResponseWriter) {
		m := e.lookupMachine(w, r)
		if m == nil {
			return
		}
		l := e.activeLease(m)
		if l == nil {
			notFound(w, "no active lease on machine %s", m.id)
			return
		}
		writeJSON(w, http.StatusOK, leaseBody(l, e.ownerOf(r) == l.owner))
	})
}

func (e *Emulator) machinesReleaseLease(w http.ResponseWriter, r *http.Request) {
	nonce := r.Header.Get(leaseNonceHeader)
	if nonce == "" {
		invalid(w, "the %s header is required to release a lease", leaseNonceHeader)
		return
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.lookupMachine(w, r)
		if m == nil {
			return
		}
		l := e.activeLease(m)
		switch {
		case l == nil:
			notFound(w, "no active lease on machine %s", m.id)
		case l.nonce != nonce:
			leaseHeld(w, m, l)
		default:
			m.lease = nil
			// The envelope Fly's docs show (l03-docs-lease-release.json).
			writeJSON(w, http.StatusOK, object{}.set("status", "success").set("data", map[string]bool{"ok": true}))
		}
	})
}

type opKey struct{}

// withOp carries the operation a request is for, so shared code (the lease
// guard) can read its facts.
func withOp(r *http.Request, op ops.Op) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), opKey{}, op))
}

// opOf is the operation withOp attached.
func opOf(r *http.Request) ops.Op {
	op, _ := r.Context().Value(opKey{}).(ops.Op)
	return op
}
