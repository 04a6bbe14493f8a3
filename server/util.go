package server

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

func validUTF8(s string) bool { return utf8.ValidString(s) }

func in01(x float64) bool { return x >= 0 && x <= 1 }

func asErr[T error](err error, target *T) bool { return errors.As(err, target) }

// cursor is the position a page token carries.
type cursor struct {
	Trust float64 `json:"t,omitempty"`
	Nanos int64   `json:"n,omitempty"`
	ID    string  `json:"i"`
	Query string  `json:"q"` // fingerprint of the query the token belongs to
}

func fingerprint(query string) string {
	sum := sha256.Sum256([]byte(query))
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

// encodeToken makes an opaque page token bound to its query (AIP-158): a token used with other filters
// is refused instead of silently paging through the wrong list.
func encodeToken(query string, c cursor) string {
	c.Query = fingerprint(query)
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(tok, query string, c *cursor) error {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) > 1024 || json.Unmarshal(b, c) != nil || c.ID == "" {
		return errors.New("is not a valid page token")
	}
	if c.Query != fingerprint(query) {
		return errors.New("belongs to another query; keep the same filters while paging")
	}
	return nil
}
