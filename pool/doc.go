// Package pool keeps a named pool of Fly Machines in an app, stopped while
// idle and shared by many processes on many hosts, with no coordinator but
// the Machines API: a Machine's lease is the lock.
//
//	p, err := pool.New(c, pool.Config{
//		App: "jobs", Name: "workers",
//		Config:  &models.FlyMachineConfig{Image: "alpine:3.20", Guest: guest},
//		Regions: []string{"ord", "iad"}, // in order; no capacity moves on
//		Max:     8,
//	})
//	st, err := p.Run(ctx, pool.Job{Cmd: []string{"./work", "--batch", "42"}})
//
// Run claims a stopped Machine (or creates one, below Max), boots it with
// the job, waits for its exit on the server and gives the Machine back,
// stopped. Acquire claims one for a caller that talks to it itself, until
// Release. Status shows the pool, Sweep tidies it (Run and Acquire sweep
// now and then too), Drain empties it.
//
// What holds across processes:
//
//   - A Machine is claimed by taking its lease; only then, and after
//     looking at it again, is it used. The lease is refreshed in the
//     background for as long as the claim lasts, and every change to the
//     Machine carries its nonce, so no two claimants ever boot one
//     Machine: the API refuses the second.
//   - A process that dies loses its claims when their leases lapse
//     (Config.LeaseTTL after the last refresh). Its Machines, still
//     running perhaps, are stopped by the next sweep of any process
//     (Config.ReclaimAfter later) and are free again.
//   - Max is counted from the API's list of the pool, plus this process's
//     own creates, and a process creates one Machine at a time, each
//     decided on a list asked for after its previous create ended. So K
//     processes creating at the same moment overshoot Max by at most K-1
//     Machines (given a list that shows a create once it completed);
//     sweeps destroy the excess once it is free.
//   - Creates are duplicate-free (flymachines.CreateMachine's launch id):
//     a create whose answer was lost is found again, not repeated.
package pool
