package pool_test

import (
	"context"
	"fmt"
	"log"

	"github.com/flymachines/flymachines-go/models"
	"github.com/flymachines/flymachines-go/pool"
	"github.com/flymachines/flymachines-go/sandbox"
)

// Jobs on a pool of up to four Machines: the first creates a Machine, the
// others start it again. (sandbox.FromEnv() instead of Emulator: true
// runs on Fly with FLY_API_TOKEN.)
func Example() {
	ctx := context.Background()
	env, err := sandbox.Connect(ctx, sandbox.Config{Emulator: true})
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close()

	p, err := pool.New(env.Client, pool.Config{
		App: env.App, Name: "workers", Max: 4,
		Config: &models.FlyMachineConfig{
			Image: "alpine:3.20",
			Guest: &models.FlyMachineGuest{CPUKind: "shared", Cpus: 1, MemoryMb: 256},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, code := range []int{0, 3} {
		job := pool.Job{Cmd: []string{"sh", "-c", fmt.Sprintf("echo working; exit %d", code)}}
		st, err := p.Run(ctx, job)
		if err != nil {
			log.Fatal(err) // errors.Is(err, pool.ErrNotStarted): safe to run again
		}
		fmt.Println("exit code", st.ExitCode)
	}
	s, err := p.Status(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(s.Machines), "machine,", s.Free, "free")
	if err := p.Drain(ctx); err != nil { // destroys the pool's Machines
		log.Fatal(err)
	}
	// Output:
	// exit code 0
	// exit code 3
	// 1 machine, 1 free
}
