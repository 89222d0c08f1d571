package flytest

import (
	"context"
	"testing"

	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/client/apps"
	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// benchClient is newTestClient for benchmarks: the generated client over
// loopback HTTP, with an app to work in.
func benchClient(b *testing.B) *client.MachinesAPI {
	b.Helper()
	srv := NewServer(b)
	tr := httptransport.New(srv.srv.Listener.Addr().String(), "/", []string{"http"})
	tr.DefaultAuthentication = httptransport.BearerToken(testToken)
	c := client.New(tr, strfmt.Default)
	if _, err := c.Apps.AppsCreateContext(context.Background(), apps.NewAppsCreateParams().WithBody(&models.CreateAppRequest{Name: testApp, OrgSlug: "personal"}), nil); err != nil {
		b.Fatal(err)
	}
	return c
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func BenchmarkGetMachine(b *testing.B) {
	c := benchClient(b)
	ctx := context.Background()
	req := createBody("nginx")
	req.Config.Metadata = map[string]string{"role": "web"}
	created, err := c.Machines.MachinesCreateContext(ctx, machines.NewMachinesCreateParams().WithAppName(testApp).WithBody(req), nil)
	if err != nil {
		b.Fatal(err)
	}
	p := machines.NewMachinesShowParams().WithAppName(testApp).WithMachineID(created.Payload.ID)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Machines.MachinesShowContext(ctx, p, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

func BenchmarkGetMachineParallel(b *testing.B) {
	c := benchClient(b)
	ctx := context.Background()
	created, err := c.Machines.MachinesCreateContext(ctx, machines.NewMachinesCreateParams().WithAppName(testApp).WithBody(createBody("nginx")), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		p := machines.NewMachinesShowParams().WithAppName(testApp).WithMachineID(created.Payload.ID)
		for pb.Next() {
			if _, err := c.Machines.MachinesShowContext(ctx, p, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b)
}

func BenchmarkCreateMachine(b *testing.B) {
	c := benchClient(b)
	ctx := context.Background()
	p := machines.NewMachinesCreateParams().WithAppName(testApp).WithBody(createBody("nginx"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Machines.MachinesCreateContext(ctx, p, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}
