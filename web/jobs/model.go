package jobs

import "github.com/cns-dev/cns/web/ui"

// ListModel is the view model of the jobs page.
type ListModel struct {
	Shell      ui.Shell
	States     []Tab
	Rows       []Row
	First      string
	Next       string
	CanSubmit  bool
	Submit     SubmitForm
	DeadLetter int // dead letters waiting, linked from the page
}

// Tab is one state filter; Current marks the active one.
type Tab struct {
	Label, Href string
	Current     bool
	Count       int
}

// Row is one job in the table.
type Row struct {
	ID, Href string
	Kind     string
	State    string
	Attempts int
	Error    string
	Created  string
	SNOHref  string
	SNOID    string
}

// SubmitForm is the state of the "submit a document" form (kept after a validation error).
type SubmitForm struct {
	Source   string
	Text     string
	Problems []string
}

// DetailModel is the view model of one job.
type DetailModel struct {
	Shell       ui.Shell
	ID          string
	Kind        string
	State       string
	Attempts    int
	ErrorCode   string
	Error       string
	Created     string
	Started     string
	Finished    string
	Updated     string
	SNOHref     string
	SNOID       string
	Idempotency string
	Input       []KV
	Excerpt     string // the start of the document or the hypothesis
	Parents     []Link // a synthesis job's pair
	DeadLetters []DeadLetterRow
}

// KV is a labelled value.
type KV struct{ Key, Value string }

// DeadLetterRow is a dead letter of this job.
type DeadLetterRow struct {
	ID, Reason, Created string
	Deliveries          int
}

// Link is a labelled link.
type Link struct{ Href, Label string }
