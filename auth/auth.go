// Package auth issues and verifies the bearer tokens that authenticate callers of CNS.
//
// Every project has its own HMAC-SHA256 secret, so a leaked secret compromises one project only and
// a project can rotate its secret without touching the others. Tokens are self-contained: verifying
// one needs the project's secret and the clock, no database round trip.
//
// # Token format
//
//	cns1.<payload>.<signature>
//
// where
//
//	payload   = base64url, no padding, of the compact JSON
//	            {"p":project,"perms":[perm,…],"iat":unix-seconds,"exp":unix-seconds,"jti":id}
//	signature = base64url, no padding, of HMAC-SHA256(secret, "cns1." + payload)
//
// The "cns1" prefix is a format version: it is covered by the signature, and a later format gets a new
// prefix, so verifiers can tell formats apart instead of guessing.
//
// Verification is deliberately strict. A token must be at most [MaxTokenLen] bytes, consist of exactly
// three dot-separated parts drawn from the base64url alphabet, use canonical unpadded base64url, and
// carry exactly the JSON that [Mint] would produce for its claims (no unknown fields, no whitespace,
// no duplicate keys). Strictness makes every set of claims have exactly one token per secret, which
// leaves no room for malleability tricks and keeps the parser's attack surface small.
//
// Failures are reported as *cns.Error: EINVALID from [Mint] (the caller's input is wrong) and
// EUNAUTHORIZED from [Verifier.Verify] and [ParseBearer]. Verification messages are fixed texts that
// never contain the token, the signature or a secret, and an unknown project fails with the same
// message as a bad signature so that tokens cannot be used to discover which projects exist.
package auth

import (
	"slices"
	"time"
)

// Permissions a token may grant. They are strings because they travel in the token and in configuration.
const (
	PermSNORead    = "sno:read"    // read SNOs, graphs and jobs of the project
	PermSNOWrite   = "sno:write"   // create and change SNOs, submit jobs
	PermAdminRead  = "admin:read"  // read project administration data
	PermAdminWrite = "admin:write" // change project administration data
)

// allPerms is the closed set of known permissions; a token naming anything else is refused, so a
// typo or a permission from a newer issuer never silently grants or drops access.
var allPerms = []string{PermSNORead, PermSNOWrite, PermAdminRead, PermAdminWrite}

// AllPerms returns every known permission. The slice is a fresh copy the caller may modify.
func AllPerms() []string {
	return slices.Clone(allPerms)
}

// ValidPerm reports whether p is a known permission.
func ValidPerm(p string) bool {
	return slices.Contains(allPerms, p)
}

// MaxProjectLen is the longest project name; see [ValidProject].
const MaxProjectLen = 63

// ValidProject reports whether name is a well-formed project name: ^[a-z0-9][a-z0-9_-]{0,62}$.
// Names are checked before a secret is looked up so the secret store never sees arbitrary input.
func ValidProject(name string) bool {
	if len(name) == 0 || len(name) > MaxProjectLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// Claims are what a token asserts: who (the project), what (the permissions) and when (its validity
// window). Times have one-second resolution because the token carries Unix seconds.
type Claims struct {
	Project   string
	Perms     []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// ID is a random 96-bit identifier in lowercase hex (24 characters). It makes every token unique
	// and gives a revocation list something to name. Mint fills it when empty.
	ID string
}

// Has reports whether the claims grant perm.
func (c Claims) Has(perm string) bool {
	return slices.Contains(c.Perms, perm)
}
