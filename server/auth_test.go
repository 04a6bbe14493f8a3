package server

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cns-dev/cns/auth"
	cnsv1 "github.com/cns-dev/cns/proto/gen/cns/v1"
)

// TestEveryProcedureHasAPermission fails when an RPC is added without an entry in Permissions, so no
// procedure is ever exposed (or refused) by omission.
func TestEveryProcedureHasAPermission(t *testing.T) {
	t.Parallel()
	files := []protoreflect.FileDescriptor{cnsv1.File_cns_v1_narrative_proto, cnsv1.File_cns_v1_admin_proto}
	n := 0
	for _, f := range files {
		for i := range f.Services().Len() {
			svc := f.Services().Get(i)
			for j := range svc.Methods().Len() {
				proc := "/" + string(svc.FullName()) + "/" + string(svc.Methods().Get(j).Name())
				perm, ok := Permissions[proc]
				if !ok {
					t.Errorf("%s has no permission entry", proc)
				} else if !auth.ValidPerm(perm) {
					t.Errorf("%s needs unknown permission %q", proc, perm)
				}
				n++
			}
		}
	}
	if n != len(Permissions) {
		t.Errorf("Permissions has %d entries for %d procedures: remove stale ones", len(Permissions), n)
	}
}
