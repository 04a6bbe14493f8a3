package redis

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
)

// Keyring encrypts records at rest with AES-256-GCM. Every sealed record carries the id of its key, so
// keys rotate: new records use the current key, records under older keys stay readable while those keys
// are listed, and Rotate re-encrypts them. The record's Redis key is the associated data, so a sealed
// record copied under another key does not open.
type Keyring struct {
	aeads   map[string]cipher.AEAD
	current string
}

// sealedPrefix starts every sealed record; plaintext records are JSON and start with '{', so both can
// coexist while a store is being encrypted.
var sealedPrefix = []byte("\x00cnsenc1")

// NewKeyring builds a keyring from 32-byte keys by id; current names the key new records use.
func NewKeyring(keys map[string][]byte, current string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}, current: current}
	for id, key := range keys {
		if len(id) == 0 || len(id) > 255 {
			return nil, fmt.Errorf("encryption key id %q: 1 to 255 bytes", id)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("encryption key %s: %d bytes, want 32 (AES-256)", id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("encryption key %s: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("encryption key %s: %w", id, err)
		}
		k.aeads[id] = aead
	}
	if _, ok := k.aeads[current]; !ok {
		return nil, fmt.Errorf("current encryption key %q is not among the keys", current)
	}
	return k, nil
}

// IDs lists the key ids, sorted.
func (k *Keyring) IDs() []string {
	ids := make([]string, 0, len(k.aeads))
	for id := range k.aeads {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func (k *Keyring) seal(plain []byte, aad string) ([]byte, error) {
	if k == nil {
		return plain, nil
	}
	aead := k.aeads[k.current]
	out := make([]byte, 0, len(sealedPrefix)+1+len(k.current)+aead.NonceSize()+len(plain)+aead.Overhead())
	out = append(out, sealedPrefix...)
	out = append(out, byte(len(k.current)))
	out = append(out, k.current...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plain, []byte(aad)), nil
}

// keyID returns the key id of a sealed record ("" for plaintext).
func keyID(b []byte) string {
	if !bytes.HasPrefix(b, sealedPrefix) || len(b) < len(sealedPrefix)+1 {
		return ""
	}
	n := int(b[len(sealedPrefix)])
	if len(b) < len(sealedPrefix)+1+n {
		return ""
	}
	return string(b[len(sealedPrefix)+1 : len(sealedPrefix)+1+n])
}

var errNoKey = errors.New("record is encrypted but no encryption key is configured")

func (k *Keyring) open(b []byte, aad string) ([]byte, error) {
	if !bytes.HasPrefix(b, sealedPrefix) {
		return b, nil // written before encryption was turned on
	}
	if k == nil {
		return nil, errNoKey
	}
	id := keyID(b)
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("record is encrypted with key %q, which is not configured", id)
	}
	rest := b[len(sealedPrefix)+1+len(id):]
	if len(rest) < aead.NonceSize() {
		return nil, errors.New("encrypted record is truncated")
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("decrypt record: %w", err)
	}
	return plain, nil
}
