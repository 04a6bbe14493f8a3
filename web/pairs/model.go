package pairs

import "github.com/cns-dev/cns/web/ui"

// Model is the view model of the chiral pairs page.
type Model struct {
	Shell     ui.Shell
	Available bool   // pair discovery is wired in
	Note      string // why the list is empty
	Rows      []Row
}

// Row is one chiral pair.
type Row struct {
	Rank                       int
	AHref, AID, AHypothesis    string
	BHref, BID, BHypothesis    string
	ATrust, BTrust             string
	Potential                  string
	Chirality                  string
	Entanglement               string
	Shared                     []string
	SharedMore                 int // shared evidence ids not listed
	SynthesisHref, SynthesisID string
}
