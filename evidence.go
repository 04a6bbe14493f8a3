package cns

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Evidence is one item of an SNO's evidence set E. ID is canonical (see CanonicalEvidenceID): two SNOs
// citing the same source share the same ID, which is what makes evidential entanglement non-zero.
type Evidence struct {
	ID               string
	SourceID         string
	Content          string
	Confidence       float64 // in [0,1]; 1.0 when not given
	SupportsClaimIDs []string
}

var doiRe = regexp.MustCompile(`(?i)\b(10\.\d{4,9}/[^\s"'<>]+)`)

// CanonicalEvidenceID returns the canonical identity of a piece of evidence:
//   - "doi:<lower-case DOI>" when sourceID is or contains a DOI (bare, doi:, or a doi.org URL);
//   - "url:<normalised URL>" for http(s) URLs (lower-case scheme and host, no default port, fragment,
//     tracking parameters or trailing slash; remaining query parameters sorted);
//   - "src:<trimmed source id>" for any other non-empty source id (folded to lower case and single spaces);
//   - "sha256:<hex>" of the normalised content only as the last resort, when there is no source id.
//
// It returns "" when both are empty.
func CanonicalEvidenceID(sourceID, content string) string {
	s := strings.TrimSpace(sourceID)
	if s != "" {
		if doi := NormalizeDOI(s); doi != "" {
			return "doi:" + doi
		}
		if u := normalizeURL(s); u != "" {
			return "url:" + u
		}
		return "src:" + strings.ToLower(strings.Join(strings.Fields(s), " "))
	}
	c := strings.Join(strings.Fields(strings.ToLower(content)), " ")
	if c == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(c))
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// NormalizeDOI extracts a DOI from s (a bare DOI, "doi:…", or a doi.org URL) and lower-cases it (DOIs are
// case-insensitive). Trailing punctuation picked up from prose is dropped. It returns "" if s holds no DOI.
func NormalizeDOI(s string) string {
	// Only an escaped slash is decoded (doi.org/10.1000%2Fabc): decoding everything would let "%00" or
	// "%FF" put control bytes into an id and would make normalising twice differ from normalising once.
	s = strings.ReplaceAll(strings.ReplaceAll(s, "%2F", "/"), "%2f", "/")
	m := doiRe.FindString(s)
	if m == "" {
		return ""
	}
	m = strings.TrimRightFunc(m, func(r rune) bool { return strings.ContainsRune(".,;:)]}'\"", r) })
	return strings.ToLower(m)
}

var trackingParams = map[string]bool{"utm_source": true, "utm_medium": true, "utm_campaign": true, "utm_term": true, "utm_content": true, "fbclid": true, "gclid": true}

func normalizeURL(s string) string {
	if !strings.HasPrefix(strings.ToLower(s), "http://") && !strings.HasPrefix(strings.ToLower(s), "https://") {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return ""
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	host = strings.TrimPrefix(host, "www.")
	port := u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	u.Fragment = ""
	u.RawFragment = ""
	u.User = nil
	q := u.Query()
	for k := range q {
		if trackingParams[strings.ToLower(k)] {
			q.Del(k)
		}
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		vs := q[k]
		sort.Strings(vs)
		for j, v := range vs {
			if i > 0 || j > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k) + "=" + url.QueryEscape(v))
		}
	}
	u.RawQuery = b.String()
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	// https and http of the same resource are one source.
	u.Scheme = "https"
	return u.String()
}

// EvidenceIDs returns the set of canonical evidence ids of an evidence list.
func EvidenceIDs(ev []Evidence) map[string]struct{} {
	m := make(map[string]struct{}, len(ev))
	for _, e := range ev {
		m[e.ID] = struct{}{}
	}
	return m
}

// isPrintable reports whether s has no control characters other than common whitespace.
func isPrintable(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}
