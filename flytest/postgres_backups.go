package flytest

import (
	"fmt"
	"net/http"
	"time"

	"github.com/flymachines/flymachines-go/models"
)

// Backups and app attachments of a Managed Postgres cluster.

const (
	pgBackupRunning   = "running"
	pgBackupCompleted = "completed"
)

// pgBackup is one backup. It runs for one transition delay.
type pgBackup struct {
	id, typ, status   string
	started, finished time.Time
	sizeBytes         int64
}

func (e *Emulator) postgresBackupsList(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgLive(pgGoneNotFound))
	if c == nil {
		return
	}
	resp := models.ListPostgresBackupsResponse{Data: make([]*models.PostgresBackup, 0, len(c.backups))}
	for _, b := range c.backups {
		resp.Data = append(resp.Data, &models.PostgresBackup{
			ID: b.id, Type: b.typ, Status: b.status, SizeBytes: b.sizeBytes,
			StartedAt: wireTime(b.started), FinishedAt: wireTime(b.finished),
		})
	}
	writeJSON(w, http.StatusOK, resp)
}

// postgresBackupsCreate starts a backup: 409 while another runs or before
// the cluster is ready.
func (e *Emulator) postgresBackupsCreate(w http.ResponseWriter, r *http.Request) {
	var req models.CreatePostgresBackupRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgReady(pgGoneNotFound, http.StatusConflict))
	if c == nil {
		return
	}
	for _, b := range c.backups {
		if b.status == pgBackupRunning {
			writeError(w, http.StatusConflict, "", fmt.Sprintf("backup %s is still in progress", b.id))
			return
		}
	}
	now := e.cfg.clock.Now()
	b := &pgBackup{id: newULID(now), typ: *req.Type, status: pgBackupRunning, started: now}
	c.backups = append(c.backups, b)
	size := int64(len(c.databases)) * pgBytesPerDatabase
	if b.typ != models.PostgresBackupTypeFull {
		size /= 8
	}
	e.after(e.cfg.transitionDelay, func() {
		b.status, b.finished, b.sizeBytes = pgBackupCompleted, e.cfg.clock.Now(), size
	})
	w.WriteHeader(http.StatusAccepted)
}

// postgresAttachmentsCreate links an existing app: 201 when new, 200 when
// the link was already there.
func (e *Emulator) postgresAttachmentsCreate(w http.ResponseWriter, r *http.Request) {
	var req models.CreatePostgresAttachmentRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgLive(http.StatusGone))
	if c == nil {
		return
	}
	name := *req.AppName
	if e.st.apps[name] == nil {
		notFound(w, "Could not find App %q", name)
		return
	}
	status := http.StatusOK
	at, ok := c.attachments[name]
	if !ok {
		at, status = e.cfg.clock.Now(), http.StatusCreated
		c.attachments[name] = at
	}
	writeJSON(w, status, models.CreatePostgresAttachmentResponse{Data: &models.PostgresAttachment{
		AppName: name, PostgresClusterID: c.id, AttachedAt: wireTime(at),
	}})
}

func (e *Emulator) postgresAttachmentsDelete(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.lookupCluster(w, r, pgLive(http.StatusGone))
	if c == nil {
		return
	}
	name := r.PathValue("app_name")
	if _, ok := c.attachments[name]; !ok {
		notFound(w, "app %s is not attached to cluster %s", name, c.id)
		return
	}
	delete(c.attachments, name)
	w.WriteHeader(http.StatusNoContent)
}
