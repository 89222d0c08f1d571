package flytest

import "net/http"

func (e *Emulator) machinesList(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesCreate(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesDelete(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesShow(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesUpdate(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesCordon(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesListEvents(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesExec(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesReleaseLease(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesShowLease(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesCreateLease(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesGetMemory(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesSetMemoryLimit(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesReclaimMemory(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesShowMetadata(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesUpdateMetadata(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesUpdateMetadataDeprecated(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesDeleteMetadata(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesGetMetadataKey(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesUpsertMetadata(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesListProcesses(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesRestart(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesSignal(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesStart(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesStop(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesSuspend(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesUncordon(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesListVersions(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) machinesWait(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) machinesOrgList(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

// machine is one Machine's state. (Stub: the machines work fills it in.)
type machine struct{}

// running reports whether the machine is in a state that holds resources
// (anything but stopped, suspended or destroyed).
func (m *machine) running() bool { return false }

// mountsVolume reports whether the machine's config mounts volume id.
func (m *machine) mountsVolume(id string) bool { return false }

// closeWaiters wakes every wait blocked on the machine.
func (m *machine) closeWaiters() {}
