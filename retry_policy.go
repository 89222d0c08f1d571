package flymachines

// repeatability says whether an operation may be sent again after an
// ambiguous failure: a 5xx, a 408, a reset connection or a timeout, after
// which the first attempt may or may not have taken effect.
type repeatability int

const (
	// notRepeatable operations could do their work twice (a second billed
	// Machine, a second IP, a restart too many). After an ambiguous failure
	// they are never resent blindly; CreateMachine and CreateApp know how to
	// find out what happened instead.
	notRepeatable repeatability = iota
	// repeatable operations leave the same state however often they run:
	// reads, wait, deletes, and mutations that set rather than add.
	repeatable
)

// retryPolicy decides, per operation of swagger.json, what a retry may
// resend. It is a table, not a guess from the HTTP method: a POST such as
// stop or metadata upsert is safe to repeat, while start is not (a second
// start of a started Machine fails). Every operation must appear here; the
// tests check the table against the spec.
//
// Whatever the table says, a request that was refused before it had any
// effect (429, or a connection that never reached the server) is retried for
// every operation.
var retryPolicy = map[string]repeatability{
	// Apps.
	"Apps_list":                repeatable,
	"Apps_show":                repeatable,
	"Apps_create":              notRepeatable, // CreateApp makes it safe with an idempotency key
	"Apps_delete":              repeatable,
	"App_create_deploy_token":  notRepeatable,
	"App_IPAssignments_list":   repeatable,
	"App_IPAssignments_create": notRepeatable, // a second address would be allocated
	"App_IPAssignments_delete": repeatable,

	// TLS certificates.
	"App_Certificates_list":          repeatable,
	"App_Certificates_show":          repeatable,
	"App_Certificates_acme_create":   notRepeatable,
	"App_Certificates_custom_create": notRepeatable,
	"App_Certificates_check":         repeatable,
	"App_Certificates_delete":        repeatable,
	"App_Certificates_acme_delete":   repeatable,
	"App_Certificates_custom_delete": repeatable,

	// Machines.
	"Machines_list":                       repeatable,
	"Machines_show":                       repeatable,
	"Machines_create":                     notRepeatable, // CreateMachine deduplicates by launch id
	"Machines_update":                     notRepeatable, // each update replaces the Machine again
	"Machines_delete":                     repeatable,
	"Machines_start":                      notRepeatable, // starting a started Machine is an error
	"Machines_stop":                       repeatable,
	"Machines_suspend":                    repeatable,
	"Machines_restart":                    notRepeatable,
	"Machines_signal":                     notRepeatable,
	"Machines_exec":                       notRepeatable,
	"Machines_wait":                       repeatable,
	"Machines_cordon":                     repeatable,
	"Machines_uncordon":                   repeatable,
	"Machines_list_events":                repeatable,
	"Machines_list_processes":             repeatable,
	"Machines_list_versions":              repeatable,
	"Machines_show_lease":                 repeatable,
	"Machines_create_lease":               notRepeatable, // a retry would find its own lease held
	"Machines_release_lease":              repeatable,
	"Machines_get_memory":                 repeatable,
	"Machines_set_memory_limit":           repeatable,
	"Machines_reclaim_memory":             notRepeatable,
	"Machines_show_metadata":              repeatable,
	"Machines_get_metadata_key":           repeatable,
	"Machines_update_metadata":            repeatable,
	"Machines_update_metadata_deprecated": repeatable,
	"Machines_upsert_metadata":            repeatable,
	"Machines_delete_metadata":            repeatable,
	"Machines_org_list":                   repeatable,

	// Volumes.
	"Volumes_list":           repeatable,
	"Volumes_get_by_id":      repeatable,
	"Volumes_create":         notRepeatable,
	"Volumes_update":         repeatable,
	"Volumes_extend":         notRepeatable, // a repeat asks to grow past the new size
	"Volume_delete":          repeatable,
	"Volumes_list_snapshots": repeatable,
	"createVolumeSnapshot":   notRepeatable,
	"Volumes_org_list":       repeatable,

	// Secrets and secret keys: setting a value twice leaves the same value;
	// encrypt, decrypt, sign and verify change nothing.
	"Secrets_list":       repeatable,
	"Secrets_update":     repeatable,
	"Secret_get":         repeatable,
	"Secret_create":      repeatable,
	"Secret_delete":      repeatable,
	"Secretkeys_list":    repeatable,
	"Secretkey_get":      repeatable,
	"Secretkey_set":      repeatable,
	"Secretkey_delete":   repeatable,
	"Secretkey_generate": notRepeatable, // a second random key would replace the first
	"Secretkey_encrypt":  repeatable,
	"Secretkey_decrypt":  repeatable,
	"Secretkey_sign":     repeatable,
	"Secretkey_verify":   repeatable,

	// Platform and tokens: queries, or tokens whose repetition is harmless.
	"Platform_regions_get":     repeatable,
	"Platform_placements_post": repeatable,
	"Tokens_authenticate":      repeatable,
	"Tokens_authorize":         repeatable,
	"CurrentToken_show":        repeatable,
	"Tokens_request_Kms":       repeatable,
	"Tokens_request_OIDC":      repeatable,

	// Managed Postgres.
	"Postgres_list":                  repeatable,
	"Postgres_show":                  repeatable,
	"Postgres_create":                notRepeatable,
	"Postgres_delete":                repeatable,
	"Postgres_fork":                  notRepeatable,
	"Postgres_restore":               notRepeatable,
	"Postgres_attachments_create":    notRepeatable,
	"Postgres_attachments_delete":    repeatable,
	"Postgres_backups_list":          repeatable,
	"Postgres_backups_create":        notRepeatable,
	"Postgres_databases_list":        repeatable,
	"Postgres_databases_create":      notRepeatable,
	"Postgres_databases_delete":      repeatable,
	"Postgres_extensions_list":       repeatable,
	"Postgres_extensions_enable":     notRepeatable,
	"Postgres_extensions_disable":    repeatable,
	"Postgres_users_list":            repeatable,
	"Postgres_users_create":          notRepeatable,
	"Postgres_users_delete":          repeatable,
	"Postgres_users_update_role":     repeatable,
	"Postgres_users_credentials":     repeatable,
	"Postgres_users_rotate_password": notRepeatable,
	"Postgres_queries_active":        repeatable,
	"Postgres_queries_slow":          repeatable,
}
