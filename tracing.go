package flymachines

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names this package's spans' instrumentation scope.
const tracerName = "github.com/flymachines/flymachines-go"

// Span attributes. What identifies the call and how it went; never the
// token, a header or a body.
const (
	attrOperation = "flymachines.operation"
	attrApp       = "fly.app"
	attrMachine   = "fly.machine"
	attrAttempts  = "flymachines.attempts"
	attrStatus    = "http.response.status_code"
	attrRequestID = "fly.request_id"
)

// callSpan is the span of one API call, or nothing when tracing is off:
// every method is a no-op on a nil *callSpan, so the untraced path costs
// one nil check.
type callSpan struct {
	span trace.Span
}

// startSpan starts the span of call c, returning the context that carries
// it; with tracing off (tracer nil) it returns ctx and nil.
func startSpan(ctx context.Context, tracer trace.Tracer, c *callInfo) (context.Context, *callSpan) {
	if tracer == nil {
		return ctx, nil
	}
	attrs := []attribute.KeyValue{attribute.String(attrOperation, c.op)}
	if c.app != "" {
		attrs = append(attrs, attribute.String(attrApp, c.app))
	}
	if c.machine != "" {
		attrs = append(attrs, attribute.String(attrMachine, c.machine))
	}
	ctx, span := tracer.Start(ctx, c.op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, &callSpan{span: span}
}

// rateLimited records time spent waiting for a client-side rate-limit slot.
func (s *callSpan) rateLimited(waited time.Duration) {
	if s == nil || waited <= 0 {
		return
	}
	s.span.AddEvent("rate_limit.wait", trace.WithAttributes(attribute.Int64("wait_ms", waited.Milliseconds())))
}

// retrying records a retry: the attempt that failed, how it failed (the
// error's text, which this package has already redacted) and the pause.
func (s *callSpan) retrying(attempt int, delay time.Duration, err error) {
	if s == nil {
		return
	}
	s.span.AddEvent("retry", trace.WithAttributes(
		attribute.Int("attempt", attempt),
		attribute.Int64("delay_ms", delay.Milliseconds()),
		attribute.String("error", err.Error()),
	))
}

// end closes the span with what the last attempt saw. The request id is
// the server's text, so it goes through the token's redaction like an
// error's.
func (s *callSpan) end(attempts int, x *exchange, tok Token, err error) {
	if s == nil {
		return
	}
	s.span.SetAttributes(attribute.Int(attrAttempts, attempts))
	if x != nil && x.status != 0 {
		s.span.SetAttributes(attribute.Int(attrStatus, x.status))
		if x.requestID != "" {
			s.span.SetAttributes(attribute.String(attrRequestID, cleanText(tok.redact(x.requestID), maxRequestID)))
		}
	}
	if err != nil {
		s.span.SetStatus(codes.Error, err.Error())
	}
	s.span.End()
}
