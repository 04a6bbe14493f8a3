package auth

import (
	"crypto/rand"
	"encoding/base64"
	"strings"

	"github.com/cns-dev/cns"
)

// secretLen is the size of generated secrets: 256 bits matches SHA-256's output, so a longer key
// would add no strength to HMAC-SHA256, and it is what production configuration will require.
const secretLen = 32

// GenerateSecret returns a new random 32-byte project secret.
func GenerateSecret() ([]byte, error) {
	b := make([]byte, secretLen)
	if _, err := rand.Read(b); err != nil {
		return nil, cns.Errorf(cns.EINTERNAL, "generate secret: %v", err)
	}
	return b, nil
}

// EncodeSecret returns secret in standard padded base64, the form secrets take in files and
// configuration (binary bytes do not survive YAML or environment variables).
func EncodeSecret(secret []byte) string {
	return base64.StdEncoding.EncodeToString(secret)
}

// DecodeSecret parses a secret written by EncodeSecret. Surrounding whitespace is ignored because
// files usually end in a newline. A secret that is not base64 or is shorter than MinSecretLen bytes
// is an EINVALID *cns.Error whose message does not contain the input.
func DecodeSecret(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, cns.Errorf(cns.EINVALID, "secret is not valid standard base64")
	}
	if len(b) < MinSecretLen {
		return nil, cns.Errorf(cns.EINVALID, "secret must be at least %d bytes", MinSecretLen)
	}
	return b, nil
}
