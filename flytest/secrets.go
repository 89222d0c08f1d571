package flytest

import "net/http"

func (e *Emulator) secretsList(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretsUpdate(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretDelete(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretGet(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretCreate(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

// secret is one app secret. (Stub.)
type secret struct{}
