package flytest

import (
	"maps"
	"net/http"

	"github.com/flymachines/flymachines-go/models"
)

// Metadata lives in config.metadata of the current version, so it shows in
// the Machine, in its versions and in metadata.{key} list filters. Writing
// it changes no version and restarts nothing, as on Fly.

func validMetadataKey(w http.ResponseWriter, key string) bool {
	if key == "" || len(key) > 255 {
		invalid(w, "metadata key %q must be 1-255 characters", key)
		return false
	}
	return true
}

func (e *Emulator) machinesShowMetadata(w http.ResponseWriter, r *http.Request) {
	e.locked(w, func(w http.ResponseWriter) {
		m := e.lookupMachine(w, r)
		if m == nil {
			return
		}
		out := map[string]string{}
		maps.Copy(out, m.config.Metadata)
		writeJSON(w, http.StatusOK, out)
	})
}

func (e *Emulator) machinesUpdateMetadata(w http.ResponseWriter, r *http.Request) {
	var req models.UpdateMetadataRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	for k := range req.Metadata {
		if !validMetadataKey(w, k) {
			return
		}
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		if req.MachineVersion != "" && req.MachineVersion != m.version {
			preconditionFailed(w, "machine_version %s does not match machine version %s", req.MachineVersion, m.version)
			return
		}
		// A merge: keys left out stay, and null or "" deletes a key.
		m.editMetadata(func(md map[string]string) {
			for k, v := range req.Metadata {
				if v == "" {
					delete(md, k)
				} else {
					md[k] = v
				}
			}
		})
		m.updatedAt = e.cfg.clock.Now()
		w.WriteHeader(http.StatusNoContent)
	})
}

// machinesUpdateMetadataDeprecated is the PUT form of the same call.
func (e *Emulator) machinesUpdateMetadataDeprecated(w http.ResponseWriter, r *http.Request) {
	e.machinesUpdateMetadata(w, r)
}

func (e *Emulator) machinesGetMetadataKey(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	e.locked(w, func(w http.ResponseWriter) {
		m := e.lookupMachine(w, r)
		if m == nil {
			return
		}
		v, ok := m.config.Metadata[key]
		if !ok {
			notFound(w, "metadata key %q not found", key)
			return
		}
		writeJSON(w, http.StatusOK, models.MetadataValueResponse{Value: v})
	})
}

func (e *Emulator) machinesUpsertMetadata(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if !validMetadataKey(w, key) {
		return
	}
	var req models.UpsertMetadataKeyRequest
	if !decodeBody(w, r, &req, false) {
		return
	}
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		m.editMetadata(func(md map[string]string) { md[key] = req.Value })
		m.updatedAt = e.cfg.clock.Now()
		w.WriteHeader(http.StatusNoContent)
	})
}

func (e *Emulator) machinesDeleteMetadata(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	e.locked(w, func(w http.ResponseWriter) {
		m := e.mutableMachine(w, r)
		if m == nil {
			return
		}
		m.editMetadata(func(md map[string]string) { delete(md, key) })
		m.updatedAt = e.cfg.clock.Now()
		w.WriteHeader(http.StatusNoContent)
	})
}

// editMetadata changes the current config's metadata. It changes a copy
// of the config, never the config in place: answers built under the lock
// share configs, and are encoded after it is released.
func (m *machine) editMetadata(edit func(md map[string]string)) {
	cfg := *m.config
	cfg.Metadata = maps.Clone(m.config.Metadata)
	if cfg.Metadata == nil {
		cfg.Metadata = map[string]string{}
	}
	edit(cfg.Metadata)
	if len(cfg.Metadata) == 0 && m.config.Metadata == nil {
		cfg.Metadata = nil // as it was: a config without metadata
	}
	m.config = &cfg
	m.versions[len(m.versions)-1].config = &cfg // the current version is the last
}
