package login

// Model is the view model of the sign-in page.
type Model struct {
	Next      string // where to go after signing in (a local path)
	Error     string // why the last attempt failed, in words safe to show
	Notice    string // e.g. "Signed out."
	Hint      string // how to get a token here (cns dev: where dev.token is)
	Passwords bool   // whether any password account is configured
	Username  string // kept after a failed password attempt
}
