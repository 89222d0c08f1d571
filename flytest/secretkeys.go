package flytest

import "net/http"

func (e *Emulator) secretkeysList(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretkeyDelete(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretkeyGet(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretkeySet(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretkeyDecrypt(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretkeyEncrypt(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretkeyGenerate(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretkeySign(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) secretkeyVerify(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

// secretKey is one app secret key. (Stub.)
type secretKey struct{}
