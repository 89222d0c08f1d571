package flytest

import (
	"bufio"
	"context"
	"encoding/json"

	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// pipeListener hands out the server ends of net.Pipe connections, so an
// http.Server can run inside a synctest bubble, where sockets would not
// follow the fake clock.
type pipeListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "flytest-pipe" }

// servePipes serves e as NewServer does (with its read limits), over
// pipes; it is stopped by the test's cleanup.
func servePipes(t *testing.T, e *Emulator) *pipeListener {
	srv := &http.Server{Handler: e}
	limitReads(srv)
	l := newPipeListener()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		e.Close()
		_ = srv.Close()
	})
	return l
}

func TestNewServerHasReadLimits(t *testing.T) {
	srv := NewServer(t)
	if c := srv.srv.Config; c.ReadHeaderTimeout != ReadHeaderTimeout || c.ReadTimeout != ReadTimeout || c.WriteTimeout != 0 {
		t.Errorf("NewServer: read header %s, read %s, write %s; want %s, %s and none",
			c.ReadHeaderTimeout, c.ReadTimeout, c.WriteTimeout, ReadHeaderTimeout, ReadTimeout)
	}
}

func TestSlowRequestBodyIsCutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := servePipes(t, New())
		conn, err := l.dial(t.Context(), "", "")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		body := `{"name":"slow-app","org_slug":"personal"}`
		fmt.Fprintf(conn, "POST /v1/apps HTTP/1.1\r\nHost: flytest\r\nAuthorization: Bearer %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", testToken, len(body))
		// One byte every half second: the whole body would take 21 s.
		sent := make(chan int, 1)
		go func() {
			n := 0
			for ; n < len(body); n++ {
				time.Sleep(500 * time.Millisecond)
				if _, err := conn.Write([]byte{body[n]}); err != nil {
					break
				}
			}
			sent <- n
		}()
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		took := time.Since(start)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("trickled body: HTTP %d %s, want 408", resp.StatusCode, b)
			}
		}
		if took > ReadTimeout {
			t.Errorf("the server read a trickled body for %s, want at most %s", took, ReadTimeout)
		}
		conn.Close()
		if n := <-sent; n == len(body) {
			t.Errorf("the server read all %d bytes of a body trickled over %s", n, took)
		}
	})
}

func TestSlowRequestHeaderIsCutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := servePipes(t, New())
		conn, err := l.dial(t.Context(), "", "")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		fmt.Fprint(conn, "GET /v1/apps?org_slug=personal HTTP/1.1\r\nHost: flytest\r\n") // and never the end
		_, err = io.ReadAll(conn)
		if took := time.Since(start); took > ReadHeaderTimeout {
			t.Errorf("a half-sent header held the connection for %s (%v), want at most %s", took, err, ReadHeaderTimeout)
		}
	})
}

// TestWaitOutlastsReadTimeout: a wait is answered when the Machine gets
// there, however long after the read limits that is; answering is a
// write, and the request was read long before.
func TestWaitOutlastsReadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := servePipes(t, New())
		tr := &http.Transport{DialContext: l.dial}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr}
		do := func(method, path, body string) (int, string) {
			req, err := http.NewRequest(method, "http://flytest"+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		do(http.MethodPost, "/v1/apps", `{"name":"`+testApp+`","org_slug":"personal"}`)
		status, body := do(http.MethodPost, "/v1/apps/"+testApp+"/machines", `{"config":{"image":"nginx"}}`)
		var m struct{ ID string }
		if err := json.Unmarshal([]byte(body), &m); status != http.StatusOK || err != nil {
			t.Fatalf("create: HTTP %d %s", status, body)
		}
		machine := "/v1/apps/" + testApp + "/machines/" + m.ID
		if status, body := do(http.MethodGet, machine+"/wait?state=started&timeout=60", ""); status != http.StatusOK {
			t.Fatalf("wait for started: HTTP %d %s", status, body)
		}

		stopAfter := 3 * ReadTimeout
		go func() {
			time.Sleep(stopAfter)
			do(http.MethodPost, machine+"/stop", "")
		}()
		start := time.Now()
		status, body = do(http.MethodGet, machine+"/wait?state=stopped&timeout=60", "")
		if took := time.Since(start); status != http.StatusOK || took < stopAfter {
			t.Errorf("wait for stopped: HTTP %d %s after %s, want 200 after %s", status, body, took, stopAfter)
		}
	})
}
