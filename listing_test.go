package flymachines

import (
	"context"
	"errors"
	"testing"

	"github.com/go-openapi/runtime"

	"github.com/flymachines/flymachines-go/client/machines"
	"github.com/flymachines/flymachines-go/models"
)

func TestMatchMetadataSendsOneParameterPerKey(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newTestClient(t, rec.URL)
	_, _ = c.Machines.MachinesListContext(context.Background(),
		machines.NewMachinesListParams().WithAppName("my-app"), nil,
		MatchMetadata("role", "worker"), MatchMetadata("launch id", "a&b"))
	q := rec.last(t).Query
	if q.Get("metadata.role") != "worker" || q.Get("metadata.launch id") != "a&b" {
		t.Errorf("query = %v, want metadata.role=worker and metadata.launch id=a&b", q)
	}
	for k := range q {
		if k == "metadata.{key}" {
			t.Error("the untemplated spec parameter was sent")
		}
	}
}

func TestWrappedParamsStillValidateTheirBody(t *testing.T) {
	t.Parallel()
	rec := newRecorder(t, nil)
	c := newTestClient(t, rec.URL)
	// A machine config with a restart policy outside the spec's enum is
	// refused before sending even when an option wraps the params.
	wrap := func(op *runtime.ClientOperation) {
		op.Params = extraQuery{next: op.Params, name: "x", value: "y"}
	}
	body := &models.CreateMachineRequest{Config: &models.FlyMachineConfig{Image: "img",
		Restart: &models.FlyMachineRestart{Policy: "sometimes"}}}
	_, err := c.Machines.MachinesCreateContext(context.Background(),
		machines.NewMachinesCreateParams().WithAppName("a").WithBody(body), nil, wrap)
	var verr *ValidationError
	if !errors.As(err, &verr) || !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	if n := len(rec.requests()); n != 0 {
		t.Errorf("an invalid body was sent (%d requests)", n)
	}
}
