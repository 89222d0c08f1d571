package flytest

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

// TestCloseLeavesNothingBehind: pending transitions, behaviour timers and
// blocked waits all end at Close, and no goroutine outlives the server.
func TestCloseLeavesNothingBehind(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		// A sub-test owns the server, so its Cleanup closes it here.
		t.Run("busy emulator", func(t *testing.T) {
			en := newEnv(t, WithTransitionDelay(time.Hour), WithImageBehavior("job", ExitAfter(time.Hour, 0)))
			m := en.create(createBody("job")) // its boot is an hour away
			go func() {
				_, _ = en.wait(m.ID, &machines.WaitParams{State: []string{"started"}, Timeout: 60})
			}()
			for waiters(en) == 0 {
				time.Sleep(time.Millisecond)
			}
			en.srv.mu.Lock()
			pending := len(en.srv.timers)
			en.srv.mu.Unlock()
			if pending == 0 {
				t.Fatal("no pending timer to stop")
			}
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		after := runtime.NumGoroutine()
		if after <= before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines before, %d after Close:\n%s", before, after, stacks())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stacks() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

func TestAfterIsCancellable(t *testing.T) {
	e := New()
	defer e.Close()
	fired := make(chan struct{}, 1)
	e.mu.Lock()
	cancel := e.after(time.Millisecond, func() { fired <- struct{}{} })
	cancel()
	n := len(e.timers)
	e.mu.Unlock()
	if n != 0 {
		t.Errorf("%d timers after cancel", n)
	}
	time.Sleep(20 * time.Millisecond)
	select {
	case <-fired:
		t.Error("a cancelled transition ran")
	default:
	}
	e.Close()
	e.mu.Lock()
	e.after(time.Millisecond, func() { fired <- struct{}{} })
	n = len(e.timers)
	e.mu.Unlock()
	if n != 0 {
		t.Error("a transition was scheduled after Close")
	}
}

// TestAppDeleteWithMachines: deleting an app whose Machine runs deletes
// it (flyctl's apps destroy stops nothing first), ends waits on its
// Machines and stops their transitions.
func TestAppDeleteWithMachines(t *testing.T) {
	en := newEnv(t)
	m := en.started("nginx")
	errc := make(chan error, 1)
	go func() {
		_, err := en.wait(m.ID, waitVersion(m.Version, 60, "stopped"))
		errc <- err
	}()
	for waiters(en) == 0 {
		time.Sleep(time.Millisecond)
	}
	if err := en.c.Apps.Delete(en.ctx, testApp, nil); err != nil {
		t.Fatalf("delete of an app with a started machine: %v", errText(err))
	}
	select {
	case err := <-errc:
		if codeOf(err) != 404 {
			t.Errorf("wait on a machine of a deleted app: %v, want 404", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait still blocked after its app was deleted")
	}
}

// TestConcurrentClients exercises every lifecycle path from many
// goroutines at once; run it with -race.
func TestConcurrentClients(t *testing.T) {
	en := newEnv(t, WithTransitionDelay(time.Millisecond), WithImageBehavior("job", ExitAfter(2*time.Millisecond, 1)))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			image := "nginx"
			if w%2 == 0 {
				image = "job"
			}
			req := createBody(image)
			req.Config.Metadata = map[string]string{"worker": fmt.Sprint(w)}
			m, err := en.c.Machines.Create(en.ctx, testApp, req)
			if err != nil {
				t.Error(err)
				return
			}
			id := m.ID
			for range 5 {
				_, _ = en.wait(id, waitParams("settled"))
				_, _ = en.do(id, "stop")
				_, _ = en.do(id, "start")
				_, _ = en.c.Machines.List(en.ctx, testApp, nil)
				_ = en.c.Metadata.Set(en.ctx, testApp, id, "k", &models.UpsertMetadataKeyRequest{Value: "v"}, nil)
				_, _ = en.do(id, "restart")
			}
			_, _ = en.do(id, "force-destroy")
		})
	}
	wg.Wait()
}
