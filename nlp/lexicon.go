package nlp

// Exported views of the built-in backend's lexical knowledge, so model-based backends (nlp/nlimodel)
// compare words exactly as the built-in one does instead of keeping a second, diverging copy.

// Stem returns the crude stem of a lower-case token (see stem): "increases", "increased" and
// "increasing" all give "increas".
func Stem(tok string) string { return string(stem([]byte(tok))) }

// IsStopword reports whether a lower-case token is one of the built-in function words.
func IsStopword(tok string) bool {
	_, ok := stopwords[tok]
	return ok
}

// AntonymStems returns the stems of the built-in antonyms of a stem ("increas" → "decreas", "reduc", …).
// The slice is shared and must not be modified.
func AntonymStems(stem string) []string { return antonyms[stem] }

// NegPrefixed reports whether a is b with a negative prefix ("un", "non"), on stems: "unsaf"/"saf".
func NegPrefixed(a, b string) bool { return negPrefixed([]byte(a), []byte(b)) }
