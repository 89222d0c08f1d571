package flytest

import "net/http"

func (e *Emulator) platformPlacementsPost(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) platformRegionsGet(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }
