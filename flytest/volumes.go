package flytest

import "net/http"

func (e *Emulator) volumesList(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) volumesCreate(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) volumeDelete(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) volumesGetById(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) volumesUpdate(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) volumesExtend(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) volumesListSnapshots(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) createVolumeSnapshot(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) volumesOrgList(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

// volume is one volume. (Stub.)
type volume struct{}
