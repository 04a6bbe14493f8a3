package nlimodel

// SetMemoTokens sets the token budget of ClassifyBatch's memo for a test and returns a function that
// restores it.
func SetMemoTokens(n int) (restore func()) {
	prev := memoTokens
	memoTokens = n
	return func() { memoTokens = prev }
}
