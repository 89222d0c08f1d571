package flymachines

import (
	"github.com/go-openapi/runtime"
	"github.com/go-openapi/strfmt"

	"github.com/flymachines/flymachines-go/client/machines"
)

// MatchMetadata filters a Machine list to Machines whose config metadata
// has key set to value; give it several times to require several keys:
//
//	c.Machines.MachinesListContext(ctx, params, nil,
//		flymachines.MatchMetadata("role", "worker"))
//
// The API reads the filter from "metadata.<key>" query parameters, a form
// Swagger 2.0 cannot declare, so it is added here rather than generated.
func MatchMetadata(key, value string) machines.ClientOption {
	return func(op *runtime.ClientOperation) {
		op.Params = extraQuery{next: op.Params, name: "metadata." + key, value: value}
	}
}

// extraQuery writes its parameters, then one more query parameter.
type extraQuery struct {
	next        runtime.ClientRequestWriter
	name, value string
}

func (q extraQuery) WriteToRequest(r runtime.ClientRequest, reg strfmt.Registry) error {
	if q.next != nil {
		if err := q.next.WriteToRequest(r, reg); err != nil {
			return err
		}
	}
	return r.SetQueryParam(q.name, q.value)
}

// unwrapParams lets the pre-send check find the wrapped params' body.
func (q extraQuery) unwrapParams() runtime.ClientRequestWriter { return q.next }
