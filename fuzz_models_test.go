package flymachines_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"

	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/models"
)

// cannedResponse answers every request with one status and body, so the
// fuzzer drives the real generated decoding path without a network.
type cannedResponse struct {
	status int
	body   []byte
}

func (c cannedResponse) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: c.status, Status: strconv.Itoa(c.status),
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(bytes.NewReader(c.body)), Request: r, ContentLength: int64(len(c.body)),
	}, nil
}

// cannedClient is the generated client straight on go-openapi's runtime,
// without the facade: the decoding path alone.
func cannedClient(status int, body []byte) *client.API {
	tr := httptransport.New("fuzz.invalid", "/", []string{"https"})
	tr.Transport = cannedResponse{status, body}
	tr.DefaultAuthentication = httptransport.BearerToken("fuzz")
	return client.New(tr)
}

var machineBody = []byte(`{"id":"73d8d46dbee589","name":"quirky-machine","state":"started","region":"cdg",
"instance_id":"01G3SHPT434MNW8TS4ENX11RQY","private_ip":"fdaa:0:3ec2:a7b:5adc:6068:5b85:2",
"config":{"image":"flyio/fastify-functions","env":{"APP_ENV":"production"},
"services":[{"internal_port":8080,"protocol":"tcp","autostop":true,"ports":[{"port":443,"handlers":["tls","http"]}]}],
"guest":{"cpu_kind":"shared","cpus":1,"memory_mb":256},"restart":{"policy":"on-failure","max_retries":3}},
"events":[{"type":"exit","status":"stopped","source":"flyd","timestamp":1653346106636,
"request":{"exit_event":{"exit_code":127,"oom_killed":false,"requested_stop":false}}}],
"created_at":"2022-05-23T22:48:21Z"}`)

// FuzzDecodeResponses: whatever a server sends back, decoding it into the
// generated models (and validating the result) returns values or errors,
// never a panic. The seed corpus runs as a unit test in CI.
func FuzzDecodeResponses(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{200, string(machineBody)},
		{200, `[` + string(machineBody) + `]`},
		{200, `{"ok":true,"state":"started","version":"01H","event_id":"01J"}`},
		{201, `{"status":"success","data":{"nonce":"fed368b018e9","expires_at":1666295946,"owner":"hello@fly.io"}}`},
		{404, `{"error":"machine not found"}`},
		{412, `{"error":"no capacity","status":"insufficient_capacity"}`},
		{200, `{"config":{"services":[{"autostop":"suspend"}]}}`},
		{200, `{"config":{"services":[{"autostop":7}]}}`},
		{200, `{"id":`},
		{200, `null`},
		{500, `<html>oops</html>`},
		{200, `{"events":[{"request":"not an object"}],"state":123}`},
	} {
		f.Add(seed.status, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			return
		}
		c := cannedClient(status, body)
		ctx := context.Background()
		// A success is a value, never nil (null and empty bodies are
		// errors).
		shown, err := c.Machines.Show(ctx, "a", "m", nil)
		if err == nil {
			_ = shown.Validate(strfmt.Default)
		}
		listed, err := c.Machines.List(ctx, "a", nil)
		if err == nil {
			for _, m := range listed {
				if m != nil {
					_ = m.Validate(strfmt.Default)
				}
			}
		}
		waited, err := c.Machines.Wait(ctx, "a", "m", nil)
		if err == nil {
			_ = waited.Validate(strfmt.Default)
		}
		lease, err := c.Leases.Create(ctx, "a", "m", &models.CreateLeaseRequest{TTL: 30}, nil)
		if err == nil {
			_ = lease.Validate(strfmt.Default)
		}
	})
}
