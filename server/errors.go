package server

import (
	"context"
	"errors"
	"time"

	"connectrpc.com/connect"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/cns-dev/cns"
)

var codes = map[string]connect.Code{
	cns.EINVALID:       connect.CodeInvalidArgument,
	cns.ENOTFOUND:      connect.CodeNotFound,
	cns.ECONFLICT:      connect.CodeAborted,
	cns.EUNAUTHORIZED:  connect.CodeUnauthenticated,
	cns.EFORBIDDEN:     connect.CodePermissionDenied,
	cns.EEXHAUSTED:     connect.CodeResourceExhausted,
	cns.EUNAVAILABLE:   connect.CodeUnavailable,
	cns.EDEADLINE:      connect.CodeDeadlineExceeded,
	cns.EFAILEDPRECOND: connect.CodeFailedPrecondition,
	cns.EINTERNAL:      connect.CodeInternal,
}

// toConnect translates a domain error into a Connect error, once, at the edge. Internal errors are logged
// with their detail and returned with a generic message: no stack, path or secret reaches the client.
func toConnect(ctx context.Context, log *zap.Logger, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	if errors.Is(err, context.Canceled) {
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("deadline exceeded"))
	}
	var de *cns.Error
	if !errors.As(err, &de) {
		log.Error("internal error", zap.Error(err))
		return connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	code, ok := codes[de.Code]
	if !ok {
		code = connect.CodeInternal
	}
	if code == connect.CodeInternal {
		log.Error("internal error", zap.Error(err))
		return connect.NewError(code, errors.New("internal error"))
	}
	out := connect.NewError(code, errors.New(de.Message))
	if len(de.Violations) > 0 {
		br := &errdetails.BadRequest{}
		for _, v := range de.Violations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		}
		if d, err := connect.NewErrorDetail(br); err == nil {
			out.AddDetail(d)
		}
	}
	if de.RetryAfterSeconds > 0 {
		if d, err := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(de.RetryAfterSeconds) * time.Second)}); err == nil {
			out.AddDetail(d)
		}
	}
	return out
}

// invalid builds an EINVALID error with one field violation.
func invalid(field, desc string) error {
	return &cns.Error{Code: cns.EINVALID, Message: "invalid request", Violations: []cns.FieldViolation{{Field: field, Description: desc}}}
}
