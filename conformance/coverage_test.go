package conformance

import (
	"reflect"
	"slices"
	"testing"

	"github.com/superfly/fly-go/flaps"
)

// coverage maps every flaps method that makes an API call to the test that
// calls it. TestMain checks, after a full run, that each test really made
// the call; TestEveryFlapsCallIsCovered that no method is left out.
var coverage = map[string]string{
	// Apps
	"CreateApp":        "TestAppLifecycle",
	"WaitForApp":       "TestAppLifecycle",
	"GetApp":           "TestAppLifecycle",
	"ListApps":         "TestAppLifecycle",
	"AppNameAvailable": "TestAppLifecycle",
	"DeleteApp":        "TestAppLifecycle",

	// Machines
	"Launch":              "TestMachineLifecycle",
	"Update":              "TestMachineLifecycle",
	"Start":               "TestMachineLifecycle",
	"Stop":                "TestMachineLifecycle",
	"Restart":             "TestMachineLifecycle",
	"Suspend":             "TestMachineLifecycle",
	"Wait":                "TestMachineLifecycle",
	"Get":                 "TestMachineLifecycle",
	"GetMany":             "TestMachineLifecycle",
	"List":                "TestMachineLifecycle",
	"ListActive":          "TestMachineLifecycle",
	"ListFlyAppsMachines": "TestMachineLifecycle",
	"Cordon":              "TestMachineLifecycle",
	"Uncordon":            "TestMachineLifecycle",
	"Kill":                "TestMachineLifecycle",
	"Destroy":             "TestMachineLifecycle",
	"FindLease":           "TestMachineLifecycle",
	"AcquireLease":        "TestMachineLifecycle",
	"RefreshLease":        "TestMachineLifecycle",
	"ReleaseLease":        "TestMachineLifecycle",
	"Exec":                "TestMachineLifecycle",
	"GetProcesses":        "TestMachineLifecycle",
	"SetMetadata":         "TestMachineLifecycle",
	"GetMetadata":         "TestMachineLifecycle",
	"DeleteMetadata":      "TestMachineLifecycle",

	// Volumes
	"CreateVolume":         "TestVolumes",
	"GetVolume":            "TestVolumes",
	"GetVolumes":           "TestVolumes",
	"GetAllVolumes":        "TestVolumes",
	"UpdateVolume":         "TestVolumes",
	"ExtendVolume":         "TestVolumes",
	"CreateVolumeSnapshot": "TestVolumes",
	"GetVolumeSnapshots":   "TestVolumes",
	"DeleteVolume":         "TestVolumes",

	// App secrets
	"SetAppSecret":     "TestAppSecrets",
	"GetAppSecrets":    "TestAppSecrets",
	"ListAppSecrets":   "TestAppSecrets",
	"UpdateAppSecrets": "TestAppSecrets",
	"DeleteAppSecret":  "TestAppSecrets",

	// Secret keys
	"SetSecretKey":      "TestSecretKeys",
	"GenerateSecretKey": "TestSecretKeys",
	"GetSecretKey":      "TestSecretKeys",
	"ListSecretKeys":    "TestSecretKeys",
	"EncryptSecretKey":  "TestSecretKeys",
	"DecryptSecretKey":  "TestSecretKeys",
	"SignSecretKey":     "TestSecretKeys",
	"VerifySecretKey":   "TestSecretKeys",
	"DeleteSecretKey":   "TestSecretKeys",

	// Certificates
	"CreateACMECertificate":   "TestCertificates",
	"CreateCustomCertificate": "TestCertificates",
	"ListCertificates":        "TestCertificates",
	"GetCertificate":          "TestCertificates",
	"CheckCertificate":        "TestCertificates",
	"DeleteACMECertificate":   "TestCertificates",
	"DeleteCustomCertificate": "TestCertificates",
	"DeleteCertificate":       "TestCertificates",

	// IP assignments
	"AssignIP":           "TestIPAssignments",
	"GetIPAssignments":   "TestIPAssignments",
	"DeleteIPAssignment": "TestIPAssignments",

	// Platform
	"GetRegions":    "TestPlatform",
	"GetPlacements": "TestPlatform",
}

// noAPICall are the exported flaps methods that send nothing: NewRequest
// only builds an *http.Request. flaps v0.8.0 has no Postgres calls.
var noAPICall = []string{"NewRequest"}

func TestEveryFlapsCallIsCovered(t *testing.T) {
	typ := reflect.TypeFor[*flaps.Client]()
	methods := map[string]bool{}
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		methods[name] = true
		if slices.Contains(noAPICall, name) {
			continue
		}
		if _, ok := coverage[name]; !ok {
			t.Errorf("flaps.Client.%s makes an API call that no test covers: add it to a test and to the coverage table", name)
		}
	}
	for _, name := range sortedKeys(coverage) {
		if !methods[name] {
			t.Errorf("coverage names %s, which flaps.Client no longer has", name)
		}
	}
	for _, name := range noAPICall {
		if !methods[name] {
			t.Errorf("noAPICall names %s, which flaps.Client no longer has", name)
		}
	}
}
