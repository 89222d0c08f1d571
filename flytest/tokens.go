package flytest

import "net/http"

func (e *Emulator) tokensAuthenticate(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) tokensAuthorize(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) currentTokenShow(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) tokensRequestKms(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) tokensRequestOIDC(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }
