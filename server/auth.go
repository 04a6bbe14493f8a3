package server

import (
	"context"
	"errors"

	"connectrpc.com/connect"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/auth"
	"github.com/cns-dev/cns/proto/gen/cns/v1/cnsv1connect"
)

// Permissions maps every procedure to the permission it needs. A procedure missing here is refused, and a
// test fails when a new RPC has no entry, so nothing is ever exposed by omission.
var Permissions = map[string]string{
	cnsv1connect.NarrativeServiceIngestDocumentProcedure:  auth.PermSNOWrite,
	cnsv1connect.NarrativeServiceSubmitNarrativeProcedure: auth.PermSNOWrite,
	cnsv1connect.NarrativeServiceGetJobProcedure:          auth.PermSNORead,
	cnsv1connect.NarrativeServiceWatchJobProcedure:        auth.PermSNORead,
	cnsv1connect.NarrativeServiceListJobsProcedure:        auth.PermSNORead,
	cnsv1connect.NarrativeServiceGetSNOProcedure:          auth.PermSNORead,
	cnsv1connect.NarrativeServiceListSNOsProcedure:        auth.PermSNORead,
	cnsv1connect.NarrativeServiceSearchSNOsProcedure:      auth.PermSNORead,
	cnsv1connect.NarrativeServiceEvaluateSNOProcedure:     auth.PermSNOWrite,
	cnsv1connect.NarrativeServiceArchiveSNOProcedure:      auth.PermSNOWrite,
	cnsv1connect.NarrativeServiceFindChiralPairsProcedure: auth.PermSNORead,
	cnsv1connect.NarrativeServiceListPairsProcedure:       auth.PermSNORead,
	cnsv1connect.NarrativeServiceSynthesizePairProcedure:  auth.PermSNOWrite,
	cnsv1connect.NarrativeServiceListReviewQueueProcedure: auth.PermSNORead,
	cnsv1connect.NarrativeServiceReviewSNOProcedure:       auth.PermSNOWrite,
	cnsv1connect.AdminServiceGetSystemStatusProcedure:     auth.PermAdminRead,
	cnsv1connect.AdminServiceGetConfigProcedure:           auth.PermAdminRead,
	cnsv1connect.AdminServiceListDeadLettersProcedure:     auth.PermAdminRead,
	cnsv1connect.AdminServiceListWorkersProcedure:         auth.PermAdminRead,
	cnsv1connect.AdminServiceRedriveDeadLettersProcedure:  auth.PermAdminWrite,
	cnsv1connect.AdminServicePurgeDeadLettersProcedure:    auth.PermAdminWrite,
}

type claimsKey struct{}

// ClaimsFrom returns the verified token claims of the request.
func ClaimsFrom(ctx context.Context) (auth.Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(auth.Claims)
	return c, ok
}

func project(ctx context.Context) string {
	c, _ := ClaimsFrom(ctx)
	return c.Project
}

// authInterceptor verifies the bearer token of every call and checks the procedure's permission. The
// project of every call is the token's: a client cannot name another project.
type authInterceptor struct {
	verifier *auth.Verifier
	revoked  *auth.Revocations // nil: none
	limits   *projectLimiter   // nil: no rate limit
}

func (a *authInterceptor) check(ctx context.Context, procedure, header string) (context.Context, error) {
	perm, ok := Permissions[procedure]
	if !ok {
		return nil, connect.NewError(connect.CodePermissionDenied, errors.New("procedure not permitted"))
	}
	tok, err := auth.ParseBearer(header)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("missing bearer token"))
	}
	claims, err := a.verifier.Verify(tok)
	if err != nil {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New(authMessage(err)))
	}
	if a.revoked.Revoked(claims.ID) {
		return nil, connect.NewError(connect.CodeUnauthenticated, errors.New("token revoked"))
	}
	if !claims.Has(perm) {
		return nil, connect.NewError(connect.CodePermissionDenied, errors.New("token lacks permission "+perm))
	}
	if err := a.limits.allow(claims.Project); err != nil {
		return nil, err
	}
	return context.WithValue(ctx, claimsKey{}, claims), nil
}

// authMessage keeps the verifier's fixed, caller-safe message (it never contains the token or secret).
func authMessage(err error) string { return cns.ErrorMessage(err) }

func (a *authInterceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, err := a.check(ctx, req.Spec().Procedure, req.Header().Get("Authorization"))
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (a *authInterceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (a *authInterceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := a.check(ctx, conn.Spec().Procedure, conn.RequestHeader().Get("Authorization"))
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
