package flytest

import (
	"context"
	"testing"

	"github.com/flymachines/flymachines-go/client"
	"github.com/flymachines/flymachines-go/models"
)

// benchClient is newTestClient for benchmarks: the generated client over
// loopback HTTP, with an app to work in.
func benchClient(b *testing.B) *client.API {
	b.Helper()
	c := clientFor(NewServer(b))
	if _, err := c.Apps.Create(context.Background(), &models.CreateAppRequest{Name: testApp, OrgSlug: "personal"}); err != nil {
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
	created, err := c.Machines.Create(ctx, testApp, req)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Machines.Show(ctx, testApp, created.ID, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

func BenchmarkGetMachineParallel(b *testing.B) {
	c := benchClient(b)
	ctx := context.Background()
	created, err := c.Machines.Create(ctx, testApp, createBody("nginx"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Machines.Show(ctx, testApp, created.ID, nil); err != nil {
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
	req := createBody("nginx")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Machines.Create(ctx, testApp, req); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}
