package flytest

import "net/http"

func (e *Emulator) postgresList(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) postgresCreate(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) postgresDelete(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) postgresShow(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) postgresAttachmentsCreate(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresAttachmentsDelete(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresBackupsList(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresBackupsCreate(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresDatabasesList(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresDatabasesCreate(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresDatabasesDelete(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresExtensionsList(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresExtensionsEnable(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresExtensionsDisable(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresFork(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) postgresQueriesActive(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresQueriesSlow(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresRestore(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) postgresUsersList(w http.ResponseWriter, r *http.Request) { e.notImplemented(w, r) }

func (e *Emulator) postgresUsersCreate(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresUsersDelete(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresUsersUpdateRole(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresUsersCredentials(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

func (e *Emulator) postgresUsersRotatePassword(w http.ResponseWriter, r *http.Request) {
	e.notImplemented(w, r)
}

// pgCluster is one Managed Postgres cluster. (Stub.)
type pgCluster struct{}
