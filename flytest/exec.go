package flytest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// ExecRequest is a command to run on a started Machine.
type ExecRequest struct {
	App       string
	MachineID string
	Image     string   // config.image of the Machine
	Command   []string // program and arguments
	Stdin     string
	Container string // the container asked for, if any
}

// ExecHandler answers Machines_exec (see WithExecHandler). It runs without
// the emulator's lock, so it may block; ctx ends with the request or at
// the request's timeout, and a handler still running then is answered 408.
// A nil result is an empty success.
type ExecHandler func(ctx context.Context, req ExecRequest) *models.Flydv1ExecResponse

// defaultExec echoes the command, so tests can assert on what was sent.
func defaultExec(_ context.Context, req ExecRequest) *models.Flydv1ExecResponse {
	return &models.Flydv1ExecResponse{Stdout: strings.Join(req.Command, " ") + "\n"}
}

func (e *Emulator) machinesExec(w http.ResponseWriter, r *http.Request) {
	var body models.MachineExecRequest
	if !decodeBody(w, r, &body, false) {
		return
	}
	cmd := body.Command
	if len(cmd) == 0 {
		cmd = strings.Fields(body.Cmd) // the deprecated string form
	}
	switch {
	case len(cmd) == 0:
		invalid(w, "command is required: the program and its arguments")
		return
	case body.Container != "" && body.Machine:
		invalid(w, "set at most one of container and machine")
		return
	case body.Timeout < 0:
		invalid(w, "timeout must not be negative")
		return
	}
	var req ExecRequest
	var failed bool
	e.locked(w, func(w http.ResponseWriter) {
		m := e.startedMachine(w, r)
		if m == nil {
			failed = true
			return
		}
		req = ExecRequest{App: m.appName, MachineID: m.id, Image: m.config.Image, Command: cmd, Stdin: body.Stdin, Container: body.Container}
	})
	if failed {
		return
	}
	ctx := r.Context()
	if body.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(body.Timeout)*time.Second)
		defer cancel()
	}
	res := e.cfg.exec(ctx, req)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		writeError(w, http.StatusRequestTimeout, "", fmt.Sprintf("deadline_exceeded: command did not finish within %ds", body.Timeout))
		return
	}
	if res == nil {
		res = &models.Flydv1ExecResponse{}
	}
	writeJSON(w, http.StatusOK, res)
}

// startedMachine is lookupMachine for operations that need a live VM:
// anything else answers 412. It does not check the lease: the operations
// that use it are ones the facts table does not mark LeaseNonce (a marked
// one goes through mutableMachine). Call with e.mu held.
func (e *Emulator) startedMachine(w http.ResponseWriter, r *http.Request) *machine {
	m := e.lookupMachine(w, r)
	if m == nil {
		return nil
	}
	if m.state != stateStarted {
		preconditionFailed(w, "machine %s is %s; it must be started", m.id, m.state)
		return nil
	}
	return m
}

// psSortKeys are the columns Machines_list_processes sorts by.
var psSortKeys = map[string]func(*models.ProcessStat) int64{
	"pid":   func(p *models.ProcessStat) int64 { return p.Pid },
	"cpu":   func(p *models.ProcessStat) int64 { return p.CPU },
	"rss":   func(p *models.ProcessStat) int64 { return p.Rss },
	"rtime": func(p *models.ProcessStat) int64 { return p.Rtime },
	"stime": func(p *models.ProcessStat) int64 { return p.Stime },
}

func (e *Emulator) machinesListProcesses(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sortBy, order := q.Get("sort_by"), q.Get("order")
	if sortBy == "" {
		sortBy = "pid"
	}
	key, ok := psSortKeys[sortBy]
	if !ok {
		invalid(w, "sort_by %q must be one of pid, cpu, rss, rtime, stime", sortBy)
		return
	}
	if order != "" && order != "asc" && order != "desc" {
		invalid(w, "order %q must be asc or desc", order)
		return
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.startedMachine(w, r)
		if m == nil {
			return
		}
		ps := processes(m, e.cfg.clock.Now())
		slices.SortStableFunc(ps, func(a, b *models.ProcessStat) int {
			c := compareInt(key(a), key(b))
			if order == "desc" {
				c = -c
			}
			return c
		})
		writeJSON(w, http.StatusOK, ps)
	})
}

// processes is a plausible, deterministic process list: Fly's init, its
// SSH server, and the main process of the config listening on the
// services' internal ports.
func processes(m *machine, now time.Time) []*models.ProcessStat {
	up := max(now.Sub(m.stateEvent.createdAt()), 0).Milliseconds()
	mainCmd := mainCommand(m.config)
	var socks []*models.ListenSocket
	for _, s := range m.config.Services {
		if s != nil && s.InternalPort > 0 {
			proto := s.Protocol
			if proto == "" {
				proto = "tcp"
			}
			socks = append(socks, &models.ListenSocket{Proto: proto, Address: fmt.Sprintf("0.0.0.0:%d", s.InternalPort)})
		}
	}
	if socks == nil {
		socks = []*models.ListenSocket{}
	}
	memKB := m.config.Guest.MemoryMb * 1024
	return []*models.ProcessStat{
		{Pid: 1, Command: "/.fly/init", Directory: "/", CPU: 1, Rss: 6 << 20, Rtime: up, Stime: 3, ListenSockets: []*models.ListenSocket{}},
		{Pid: 313, Command: "/.fly/hallpass", Directory: "/", CPU: 0, Rss: 12 << 20, Rtime: up, Stime: 2,
			ListenSockets: []*models.ListenSocket{{Proto: "tcp", Address: "[" + m.privateIP + "]:22"}}},
		{Pid: 315, Command: mainCmd, Directory: "/", CPU: 4, Rss: memKB * 1024 / 4, Rtime: up, Stime: 9, ListenSockets: socks},
	}
}

// mainCommand is what the image would run: init.exec, else entrypoint and
// cmd, else the image's base name.
func mainCommand(c *models.FlyMachineConfig) string {
	if c.Init != nil {
		if len(c.Init.Exec) > 0 {
			return strings.Join(c.Init.Exec, " ")
		}
		if parts := append(slices.Clone(c.Init.Entrypoint), c.Init.Cmd...); len(parts) > 0 {
			return strings.Join(parts, " ")
		}
	}
	name := path.Base(c.Image)
	if i := strings.IndexAny(name, ":@"); i > 0 {
		name = name[:i]
	}
	return "/usr/local/bin/" + name
}

// memoryState is a started Machine's balloon: limit_mb caps what the guest
// may use, reclaimed memory is handed back to the host.
type memoryState struct {
	limitMB     int64
	reclaimedMB int64
}

// Of a guest's memory, the emulated workload uses a quarter.
func usedMB(guest *models.FlyMachineGuest) int64 { return guest.MemoryMb / 4 }

func newMemoryState(g *models.FlyMachineGuest) memoryState { return memoryState{limitMB: g.MemoryMb} }

func (m *machine) memoryBody() models.MainMemoryResponse {
	avail := max(m.mem.limitMB-usedMB(m.config.Guest)-m.mem.reclaimedMB, 0)
	return models.MainMemoryResponse{LimitMb: m.mem.limitMB, AvailableMb: avail}
}

func (e *Emulator) machinesGetMemory(w http.ResponseWriter, r *http.Request) {
	e.locked(w, func(w http.ResponseWriter) {
		if m := e.startedMachine(w, r); m != nil {
			writeJSON(w, http.StatusOK, m.memoryBody())
		}
	})
}

func (e *Emulator) machinesSetMemoryLimit(w http.ResponseWriter, r *http.Request) {
	var req models.MainSetMemoryLimitRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.startedMachine(w, r)
		if m == nil {
			return
		}
		if lo, hi := usedMB(m.config.Guest), m.config.Guest.MemoryMb; req.LimitMb < lo || req.LimitMb > hi {
			invalid(w, "limit_mb %d must be between the %d MB in use and the guest's %d MB", req.LimitMb, lo, hi)
			return
		}
		m.mem.limitMB = req.LimitMb
		m.mem.reclaimedMB = min(m.mem.reclaimedMB, m.mem.limitMB-usedMB(m.config.Guest))
		writeJSON(w, http.StatusOK, m.memoryBody())
	})
}

func (e *Emulator) machinesReclaimMemory(w http.ResponseWriter, r *http.Request) {
	var req models.MainReclaimMemoryRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	if req.AmountMb <= 0 {
		invalid(w, "amount_mb must be positive")
		return
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.startedMachine(w, r)
		if m == nil {
			return
		}
		actual := min(req.AmountMb, m.memoryBody().AvailableMb)
		m.mem.reclaimedMB += actual
		writeJSON(w, http.StatusOK, models.MainReclaimMemoryResponse{ActualMb: actual})
	})
}
