package flytest

import (
	"net/http"

	"github.com/flymachines/flymachines-go/client/ops"
)

// handler serves one operation.
type handler func(*Emulator, http.ResponseWriter, *http.Request)

// handlers serve the operations of the facts table (client/ops, generated
// from swagger.json and gen/facts.yaml), which also gives each one's method
// and path: an operation the spec drops is one entry to delete here (its
// constant no longer compiles), and routes_test.go checks that every
// operation is served.
var handlers = map[string]handler{
	ops.AppsList:                   (*Emulator).appsList,
	ops.AppsCreate:                 (*Emulator).appsCreate,
	ops.AppsDelete:                 (*Emulator).appsDelete,
	ops.AppsShow:                   (*Emulator).appsShow,
	ops.CertificatesList:           (*Emulator).appCertificatesList,
	ops.CertificatesCreateACME:     (*Emulator).appCertificatesAcmeCreate,
	ops.CertificatesCreateCustom:   (*Emulator).appCertificatesCustomCreate,
	ops.CertificatesDelete:         (*Emulator).appCertificatesDelete,
	ops.CertificatesShow:           (*Emulator).appCertificatesShow,
	ops.CertificatesDeleteACME:     (*Emulator).appCertificatesAcmeDelete,
	ops.CertificatesCheck:          (*Emulator).appCertificatesCheck,
	ops.CertificatesDeleteCustom:   (*Emulator).appCertificatesCustomDelete,
	ops.AppsCreateDeployToken:      (*Emulator).appCreateDeployToken,
	ops.IPAssignmentsList:          (*Emulator).appIPAssignmentsList,
	ops.IPAssignmentsCreate:        (*Emulator).appIPAssignmentsCreate,
	ops.IPAssignmentsDelete:        (*Emulator).appIPAssignmentsDelete,
	ops.MachinesList:               (*Emulator).machinesList,
	ops.MachinesCreate:             (*Emulator).machinesCreate,
	ops.MachinesDelete:             (*Emulator).machinesDelete,
	ops.MachinesShow:               (*Emulator).machinesShow,
	ops.MachinesUpdate:             (*Emulator).machinesUpdate,
	ops.MachinesCordon:             (*Emulator).machinesCordon,
	ops.MachinesListEvents:         (*Emulator).machinesListEvents,
	ops.MachinesExec:               (*Emulator).machinesExec,
	ops.LeasesRelease:              (*Emulator).machinesReleaseLease,
	ops.LeasesShow:                 (*Emulator).machinesShowLease,
	ops.LeasesCreate:               (*Emulator).machinesCreateLease,
	ops.MachinesGetMemory:          (*Emulator).machinesGetMemory,
	ops.MachinesSetMemoryLimit:     (*Emulator).machinesSetMemoryLimit,
	ops.MachinesReclaimMemory:      (*Emulator).machinesReclaimMemory,
	ops.MetadataList:               (*Emulator).machinesShowMetadata,
	ops.MetadataUpdate:             (*Emulator).machinesUpdateMetadata,
	ops.MetadataReplace:            (*Emulator).machinesUpdateMetadataDeprecated,
	ops.MetadataDelete:             (*Emulator).machinesDeleteMetadata,
	ops.MetadataGet:                (*Emulator).machinesGetMetadataKey,
	ops.MetadataSet:                (*Emulator).machinesUpsertMetadata,
	ops.MachinesListProcesses:      (*Emulator).machinesListProcesses,
	ops.MachinesRestart:            (*Emulator).machinesRestart,
	ops.MachinesSignal:             (*Emulator).machinesSignal,
	ops.MachinesStart:              (*Emulator).machinesStart,
	ops.MachinesStop:               (*Emulator).machinesStop,
	ops.MachinesSuspend:            (*Emulator).machinesSuspend,
	ops.MachinesUncordon:           (*Emulator).machinesUncordon,
	ops.MachinesListVersions:       (*Emulator).machinesListVersions,
	ops.MachinesWait:               (*Emulator).machinesWait,
	ops.SecretKeysList:             (*Emulator).secretkeysList,
	ops.SecretKeysDelete:           (*Emulator).secretkeyDelete,
	ops.SecretKeysGet:              (*Emulator).secretkeyGet,
	ops.SecretKeysSet:              (*Emulator).secretkeySet,
	ops.SecretKeysDecrypt:          (*Emulator).secretkeyDecrypt,
	ops.SecretKeysEncrypt:          (*Emulator).secretkeyEncrypt,
	ops.SecretKeysGenerate:         (*Emulator).secretkeyGenerate,
	ops.SecretKeysSign:             (*Emulator).secretkeySign,
	ops.SecretKeysVerify:           (*Emulator).secretkeyVerify,
	ops.SecretsList:                (*Emulator).secretsList,
	ops.SecretsUpdate:              (*Emulator).secretsUpdate,
	ops.SecretsDelete:              (*Emulator).secretDelete,
	ops.SecretsGet:                 (*Emulator).secretGet,
	ops.SecretsSet:                 (*Emulator).secretCreate,
	ops.VolumesList:                (*Emulator).volumesList,
	ops.VolumesCreate:              (*Emulator).volumesCreate,
	ops.VolumesDelete:              (*Emulator).volumeDelete,
	ops.VolumesShow:                (*Emulator).volumesGetById,
	ops.VolumesUpdate:              (*Emulator).volumesUpdate,
	ops.VolumesExtend:              (*Emulator).volumesExtend,
	ops.VolumesListSnapshots:       (*Emulator).volumesListSnapshots,
	ops.VolumesCreateSnapshot:      (*Emulator).createVolumeSnapshot,
	ops.OrgsListMachines:           (*Emulator).machinesOrgList,
	ops.OrgsListVolumes:            (*Emulator).volumesOrgList,
	ops.PlatformPlacements:         (*Emulator).platformPlacementsPost,
	ops.PlatformRegions:            (*Emulator).platformRegionsGet,
	ops.PostgresList:               (*Emulator).postgresList,
	ops.PostgresCreate:             (*Emulator).postgresCreate,
	ops.PostgresDelete:             (*Emulator).postgresDelete,
	ops.PostgresShow:               (*Emulator).postgresShow,
	ops.PostgresAttach:             (*Emulator).postgresAttachmentsCreate,
	ops.PostgresDetach:             (*Emulator).postgresAttachmentsDelete,
	ops.PostgresListBackups:        (*Emulator).postgresBackupsList,
	ops.PostgresCreateBackup:       (*Emulator).postgresBackupsCreate,
	ops.PostgresListDatabases:      (*Emulator).postgresDatabasesList,
	ops.PostgresCreateDatabase:     (*Emulator).postgresDatabasesCreate,
	ops.PostgresDeleteDatabase:     (*Emulator).postgresDatabasesDelete,
	ops.PostgresListExtensions:     (*Emulator).postgresExtensionsList,
	ops.PostgresEnableExtension:    (*Emulator).postgresExtensionsEnable,
	ops.PostgresDisableExtension:   (*Emulator).postgresExtensionsDisable,
	ops.PostgresFork:               (*Emulator).postgresFork,
	ops.PostgresActiveQueries:      (*Emulator).postgresQueriesActive,
	ops.PostgresSlowQueries:        (*Emulator).postgresQueriesSlow,
	ops.PostgresRestore:            (*Emulator).postgresRestore,
	ops.PostgresListUsers:          (*Emulator).postgresUsersList,
	ops.PostgresCreateUser:         (*Emulator).postgresUsersCreate,
	ops.PostgresDeleteUser:         (*Emulator).postgresUsersDelete,
	ops.PostgresUpdateUserRole:     (*Emulator).postgresUsersUpdateRole,
	ops.PostgresUserCredentials:    (*Emulator).postgresUsersCredentials,
	ops.PostgresRotateUserPassword: (*Emulator).postgresUsersRotatePassword,
	ops.TokensAuthenticate:         (*Emulator).tokensAuthenticate,
	ops.TokensAuthorize:            (*Emulator).tokensAuthorize,
	ops.TokensCurrent:              (*Emulator).currentTokenShow,
	ops.TokensRequestKMS:           (*Emulator).tokensRequestKms,
	ops.TokensRequestOIDC:          (*Emulator).tokensRequestOIDC,
}

// route is one operation as the emulator serves it.
type route struct {
	op      ops.Op
	pattern string // "METHOD /path/{param}" as http.ServeMux reads it
	handler handler
}

// routes are the table's operations that have a handler.
func routes() []route {
	var out []route
	for _, op := range ops.All() {
		if h, ok := handlers[op.ID]; ok {
			out = append(out, route{op: op, pattern: op.Method + " " + op.Path, handler: h})
		}
	}
	return out
}
