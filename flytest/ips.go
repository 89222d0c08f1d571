package flytest

import "net/http"

func (e *Emulator) appCreateDeployToken(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) appIPAssignmentsList(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) appIPAssignmentsCreate(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) appIPAssignmentsDelete(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

// ipAssignment is one IP address of an app. (Stub.)
type ipAssignment struct{}
