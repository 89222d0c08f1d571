package flytest

import "net/http"

func (e *Emulator) appCertificatesList(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) appCertificatesAcmeCreate(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) appCertificatesCustomCreate(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) appCertificatesDelete(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) appCertificatesShow(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) appCertificatesAcmeDelete(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) appCertificatesCheck(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) appCertificatesCustomDelete(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

// certificate is one TLS certificate of an app. (Stub.)
type certificate struct{}
