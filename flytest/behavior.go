package flytest

import (
	"context"
	"net/http"

	"github.com/flymachines/flymachines-go/models"
)

// behaviorRule maps Machines to what runs inside them. (Stub.)
type behaviorRule struct{}

// ExecHandler answers an exec request on a Machine.
type ExecHandler func(ctx context.Context, machineID string, cmd []string) *models.Flydv1ExecResponse

func defaultExec(ctx context.Context, machineID string, cmd []string) *models.Flydv1ExecResponse {
	return &models.Flydv1ExecResponse{}
}

// rateLimit enforces WithRateLimits. (Stub.)
func (e *Emulator) rateLimit(op string, w http.ResponseWriter, r *http.Request) bool { return true }
