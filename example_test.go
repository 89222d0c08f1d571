package flymachines_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	flymachines "github.com/flymachines/flymachines-go"
	"github.com/flymachines/flymachines-go/call"
	"github.com/flymachines/flymachines-go/client/machines"
)

// fakeAPI stands in for the Machines API so the examples run offline:
// each route answers a fixed status and JSON body.
func fakeAPI(routes map[string]string, status map[string]int) *httptest.Server {
	mux := http.NewServeMux()
	for pattern, body := range routes {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("fly-request-id", "01HEXAMPLEREQUEST")
			if code, ok := status[pattern]; ok {
				w.WriteHeader(code)
			}
			fmt.Fprint(w, body)
		})
	}
	return httptest.NewServer(mux)
}

func ExampleNew() {
	api := fakeAPI(map[string]string{
		"GET /v1/apps/my-app/machines/148ed726c24e89": `{"id":"148ed726c24e89","state":"started","region":"ord"}`,
	}, nil)
	defer api.Close()

	// Without options, New reads FLY_API_TOKEN (or FLY_ACCESS_TOKEN) and
	// FLY_API_HOSTNAME, and talks to the public API.
	c, err := flymachines.New(
		flymachines.WithToken("fm2_lJPECAAAAAAAAExampleToken"),
		flymachines.WithBaseURL(api.URL),
		flymachines.WithUserAgent("my-tool/1.0"),
	)
	if err != nil {
		log.Fatal(err)
	}

	// Every operation of the API is a method: path parameters in order,
	// then the body or the optional parameters (nil for none).
	m, err := c.Machines.Show(context.Background(), "my-app", "148ed726c24e89", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.ID, m.State, m.Region)
	// Output: 148ed726c24e89 started ord
}

// Host selection: the public API, the private network over WireGuard, or a
// local `fly machines api-proxy`. Plain HTTP anywhere else is refused.
func ExampleWithBaseURL() {
	for _, base := range []string{
		flymachines.PublicBaseURL,
		flymachines.WireGuardBaseURL,
		flymachines.APIProxyBaseURL,
		"_api.internal:4280",      // no scheme: http inside the private network
		"api.machines.dev",        // no scheme: https elsewhere
		"http://api.machines.dev", // refused
	} {
		c, err := flymachines.New(
			flymachines.WithToken("fm2_lJPECAAAAAAAAExampleToken"),
			flymachines.WithBaseURL(base),
		)
		if errors.Is(err, flymachines.ErrInsecureBaseURL) {
			fmt.Println("refused:", base)
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(c.BaseURL())
	}
	// Output:
	// https://api.machines.dev
	// http://_api.internal:4280
	// http://127.0.0.1:4280
	// http://_api.internal:4280
	// https://api.machines.dev
	// refused: http://api.machines.dev
}

func ExampleParseToken() {
	for _, raw := range []string{
		"fo1_aaaaaaaaaaaaaaaaaaaa\n",                // access token: Bearer
		"fm2_bbbbbbbbbbbbbbbb,fm2_cccccccccccccccc", // macaroons: FlyV1
		"FlyV1 fm2_dddddddddddddddd",                // scheme given: as is
	} {
		tok, err := flymachines.ParseToken(raw)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%v: %v\n", tok.Kind(), tok) // printing never shows the token
	}
	_, err := flymachines.ParseToken("not a token")
	fmt.Println(errors.Is(err, flymachines.ErrInvalidToken))
	// Output:
	// Bearer: Bearer [REDACTED]
	// FlyV1: FlyV1 [REDACTED]
	// FlyV1: FlyV1 [REDACTED]
	// true
}

func ExampleClient_WaitForState() {
	api := fakeAPI(map[string]string{
		"GET /v1/apps/my-app/machines/148ed726c24e89/wait": `{"ok":true,"state":"started"}`,
	}, nil)
	defer api.Close()
	c, err := flymachines.New(flymachines.WithToken("fm2_lJPECAAAAAAAAExampleToken"), flymachines.WithBaseURL(api.URL))
	if err != nil {
		log.Fatal(err)
	}

	// Wait up to five minutes; the helper calls the server-side wait again
	// after each 408 and notices a Machine that fails or is destroyed.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := c.WaitForState(ctx, "my-app", "148ed726c24e89", []string{flymachines.StateStarted})
	switch {
	case errors.Is(err, flymachines.ErrTimeout):
		fmt.Println("still not started")
	case errors.Is(err, flymachines.ErrMachineDestroyed), errors.Is(err, flymachines.ErrMachineFailed):
		fmt.Println("gone:", err)
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("machine is", res.State)
	}
	// Output: machine is started
}

func ExampleClient_WaitForExit() {
	const job = "/v1/apps/jobs/machines/9080e6f3a0d187"
	api := fakeAPI(map[string]string{
		"GET " + job:           `{"id":"9080e6f3a0d187","state":"started","instance_id":"01HJOB"}`,
		"GET " + job + "/wait": `{"ok":true,"state":"stopped"}`,
		"GET " + job + "/events": `[{"type":"exit","timestamp":1700000003000,
			"request":{"exit_event":{"exit_code":3,"signal":-1,"oom_killed":false}}}]`,
	}, nil)
	defer api.Close()
	c, err := flymachines.New(flymachines.WithToken("fm2_lJPECAAAAAAAAExampleToken"), flymachines.WithBaseURL(api.URL))
	if err != nil {
		log.Fatal(err)
	}

	// A one-off job: the Machine was created to run once; wait for its
	// process to end and collect how it ended.
	st, err := c.WaitForExit(context.Background(), "jobs", "9080e6f3a0d187")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("exit code", st.ExitCode, "success:", st.Success(), "oom:", st.OOMKilled)
	// Output: exit code 3 success: false oom: false
}

// Errors of any call, helper or generated, are *APIError values that match
// sentinels with errors.Is and carry the API's details.
func ExampleAPIError() {
	api := fakeAPI(map[string]string{
		"POST /v1/apps/my-app/machines/148ed726c24e89/stop": `{"error":"lease currently held by ci@tokens.fly.io, expires at 2026-05-14T10:41:08Z"}`,
	}, map[string]int{"POST /v1/apps/my-app/machines/148ed726c24e89/stop": http.StatusConflict})
	defer api.Close()
	c, err := flymachines.New(flymachines.WithToken("fm2_lJPECAAAAAAAAExampleToken"), flymachines.WithBaseURL(api.URL))
	if err != nil {
		log.Fatal(err)
	}

	err = c.Machines.Stop(context.Background(), "my-app", "148ed726c24e89", nil, nil)

	fmt.Println(errors.Is(err, flymachines.ErrConflict), errors.Is(err, flymachines.ErrLeaseHeld))
	if lease, ok := errors.AsType[*flymachines.LeaseHeldError](err); ok {
		fmt.Println("held by", lease.Owner, "until", lease.ExpiresAt.Format(time.Kitchen))
	}
	if apiErr, ok := errors.AsType[*flymachines.APIError](err); ok {
		fmt.Println(apiErr.Op, apiErr.StatusCode, apiErr.RequestID)
	}
	// Output:
	// true true
	// held by ci@tokens.fly.io until 10:41AM
	// Machines_stop 409 01HEXAMPLEREQUEST
}

// Listing page by page: call.Capture gives what the answer said besides
// its body, here the paging cursor and the request id.
func ExampleClient_paging() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("fly-request-id", "01HEXAMPLEREQUEST")
		if r.URL.Query().Get("cursor") == "" {
			w.Header().Set("fly-next-cursor", "page-2")
			fmt.Fprint(w, `[{"id":"148ed726c24e89"},{"id":"9080e6f3a0d187"}]`)
			return
		}
		fmt.Fprint(w, `[{"id":"e82d921b4d3e68"}]`)
	}))
	defer api.Close()
	c, err := flymachines.New(flymachines.WithToken("fm2_lJPECAAAAAAAAExampleToken"), flymachines.WithBaseURL(api.URL))
	if err != nil {
		log.Fatal(err)
	}

	params := &machines.ListParams{Limit: 2, Metadata: map[string]string{"role": "worker"}}
	for {
		var meta call.Meta
		page, err := c.Machines.List(context.Background(), "my-app", params, call.Capture(&meta))
		if err != nil {
			log.Fatal(err)
		}
		for _, m := range page {
			fmt.Println(m.ID)
		}
		if meta.NextCursor() == "" {
			break
		}
		params.Cursor = meta.NextCursor()
	}
	// Output:
	// 148ed726c24e89
	// 9080e6f3a0d187
	// e82d921b4d3e68
}
