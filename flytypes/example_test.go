package flytypes_test

import (
	"encoding/json"
	"fmt"

	"github.com/flymachines/flymachines-go/flytypes"
	"github.com/flymachines/flymachines-go/models"
)

// A key the models do not know yet survives a decode and an encode, so a
// read-modify-write update sends it back.
func ExampleExtra() {
	var m models.Machine
	_ = json.Unmarshal([]byte(`{"id":"148ed193b95089","config":{"image":"nginx","gpu_partition":"half"}}`), &m)
	v, _ := m.Config.Extra.Lookup("gpu_partition")
	fmt.Println(string(v))

	m.Config.Image = "nginx:1.27"
	out, _ := json.Marshal(models.UpdateMachineRequest{Config: m.Config})
	fmt.Println(string(out))
	// Output:
	// "half"
	// {"config":{"image":"nginx:1.27","gpu_partition":"half"}}
}

// Set sends what the models do not describe yet.
func ExampleExtra_Set() {
	var extra flytypes.Extra
	_ = extra.Set("gpu_partition", json.RawMessage(`"half"`))
	out, _ := json.Marshal(&models.FlyMachineConfig{Image: "nginx", Extra: extra})
	fmt.Println(string(out))
	// Output: {"image":"nginx","gpu_partition":"half"}
}
